"""The region's NATS plan as `edgeops plan --nats <hub>` shows it: every zone's JetStream domain planned through
the hub's leafnodes, the hub's own stream, folded into the zone plans next to the Kubernetes changes.

Matrix: nothing applied → creates per zone and on the hub | a region pass through the hub (lis-03 Degraded, the rest Ready) → nothing pending | a zone with no
server behind the hub (lis-03) → that zone alone carries an error | text format shows the NATS section.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.app.nats import NatsStatus, RetryPolicy, plan_region_nats
from reconciler.app.reconcile import apply_region
from reconciler.core.load import LoadResult
from reconciler.core.plan import Action, ZonePlan, format_text, with_nats
from tests.fixtures.nats_fleet import NatsFleet
from tests.integration.nats.helpers import nats_side_of_a_pass

pytestmark = pytest.mark.integration


async def test_region_plan_through_the_hub(nats_fleet: NatsFleet, tmp_path: Path) -> None:
    spec = nats_fleet.spec
    kube_plans = [ZonePlan(z.name, "abc123") for z in spec.zones_in("eu-west")]
    results = await plan_region_nats(spec, "eu-west", nats_fleet.hub_endpoint())
    plans = {p.zone: p for p in with_nats(kube_plans, results, "abc123")}
    assert set(plans) == {"ams-01", "fra-02", "lis-03", "hub-eu-west"}
    created = {c.ref for c in plans["ams-01"].all_changes.with_action(Action.CREATE)}
    # input, results, dead letters, the window changelog, and 12 partitions' consumers for stable and canary each
    assert len(created) == 4 + 2 * 12, created
    assert "Stream/ams-01/state-ams-01" in created
    assert plans["ams-01"].error is None
    assert plans["lis-03"].error is not None
    assert "unreachable" in plans["lis-03"].error
    assert [c.ref for c in plans["hub-eu-west"].all_changes] == ["Stream/hub-eu-west/results-eu-west"]
    text = format_text(list(plans.values()))
    assert "Stream/ams-01/input-ams-01-fraud-scoring" in text

    options = nats_side_of_a_pass(nats_fleet.hub_endpoint(), RetryPolicy(attempts=1), tmp_path)
    done = await apply_region(LoadResult(spec, (), "abc123"), "eu-west", options)
    assert done.hub is not None
    applied = {r.zone: r for r in (*done.nats, done.hub)}
    assert [applied[z].status for z in ("ams-01", "fra-02", "lis-03", "hub-eu-west")] == [
        NatsStatus.READY,
        NatsStatus.READY,
        NatsStatus.DEGRADED,
        NatsStatus.READY,
    ]
    results = await plan_region_nats(spec, "eu-west", nats_fleet.hub_endpoint())
    plans = {p.zone: p for p in with_nats(kube_plans, results, "abc123")}
    assert not plans["ams-01"].pending
    assert not plans["fra-02"].pending
    assert not plans["hub-eu-west"].pending
