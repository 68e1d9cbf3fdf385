"""The region loop with `--nats`: one pass applies each zone's Kubernetes objects and, through the region hub and
the zone's JetStream domain, its JetStream assets; a zone whose nats-server is down is Degraded with the reason
while the other zone is Synced. Real kube-apiservers (shared zones) and real nats-servers (hub + two leaves)."""

from __future__ import annotations

import pytest

from reconciler.app.reconcile.loop import LoopOptions, RegionLoop
from reconciler.app.reconcile.source import Fetched
from reconciler.core.plan import Action, ZoneStatus
from tests.fixtures.fleet_repo import ModelDef, ReconcileEnv, ZoneDef
from tests.fixtures.nats_fleet import NatsFleet

pytestmark = pytest.mark.integration


@pytest.mark.timeout(300)
async def test_one_pass_applies_jetstream_assets_and_isolates_a_down_zone(
    reconcile_env: ReconcileEnv, nats_fleet: NatsFleet
) -> None:
    # Zones named like the NATS leaves (their JetStream domains), reached through the shared kube zones.
    load = reconcile_env.write(
        [
            ZoneDef("ams-01", "zone-a", models=(ModelDef(replicas=0),)),
            ZoneDef("fra-02", "zone-b", models=(ModelDef(replicas=0),)),
        ]
    )
    assert load.spec is not None, load.problems
    nats_fleet.leaves["fra-02"].stop()
    options = LoopOptions(
        region="eu-west", interval_s=0.2, region_options=reconcile_env.options(), nats_hub=nats_fleet.hub_endpoint()
    )
    loop = RegionLoop(lambda: Fetched("working-tree", load, fresh=True), options)

    results = {r.zone: r for r in await loop.run_pass()}

    ams, fra = results["ams-01"], results["fra-02"]
    assert ams.status is ZoneStatus.SYNCED, ams.message
    nats_changes = dict(ams.plan.systems).get("nats")
    assert nats_changes is not None
    assert nats_changes.with_action(Action.CREATE), "the zone's streams and consumer were created"
    assert fra.status is ZoneStatus.DEGRADED
    assert "nats:" in fra.message
    # The Kubernetes side of the NATS-less zone was still applied.
    assert fra.applied > 0
    assert fra.plan.kubernetes.with_action(Action.CREATE)
