"""NATS unreachable: the zone is reported Degraded and retried; the other zones of the region are unaffected.

Matrix: a stopped leaf server addressed directly | the same zone in a region pass through the hub (no JetStream
answers in its domain) | the zone converges on the next pass once its server is back | a zone with no server
behind the hub at all is Degraded in the pass, its zone result saying why.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from reconciler.app.nats import NatsStatus, RetryPolicy, apply_nats
from reconciler.app.reconcile import apply_region
from reconciler.core.load import LoadResult
from reconciler.core.plan import Action, ZoneStatus
from tests.fixtures.nats_fleet import ZONES, NatsFleet
from tests.integration.nats.helpers import nats_side_of_a_pass

pytestmark = pytest.mark.integration

FAST_RETRY = RetryPolicy(attempts=3, first_delay_s=0.1, max_delay_s=0.5)


def _with_a_leaf(zone: str) -> bool:
    return zone in ZONES


async def test_down_zone_is_degraded_and_others_converge(nats_fleet: NatsFleet, tmp_path: Path) -> None:
    spec = nats_fleet.spec
    nats_fleet.leaves["fra-02"].stop()
    started = time.monotonic()
    direct = await asyncio.gather(
        *(apply_nats(spec, nats_fleet.zone(z), nats_fleet.endpoint(z), revision="r1", retry=FAST_RETRY) for z in ZONES)
    )
    results = {r.zone: r for r in direct}
    assert results["ams-01"].status is NatsStatus.READY, results["ams-01"].error
    created = {c.ref for c in results["ams-01"].changes.with_action(Action.CREATE)}
    # input, results, dead letters, the window changelog, and 12 partitions' consumers for stable and canary each
    assert len(created) == 4 + 2 * 12, created
    assert "Stream/ams-01/state-ams-01" in created
    down = results["fra-02"]
    assert down.status is NatsStatus.DEGRADED
    assert down.error is not None
    assert "unreachable" in down.error
    assert time.monotonic() - started >= 0.1 + 0.2  # it was retried with backoff before giving up

    # Through the hub: the leafnode is gone, so nothing answers in fra-02's domain.
    load = LoadResult(spec, (), "r1")
    options = nats_side_of_a_pass(nats_fleet.hub_endpoint(), FAST_RETRY, tmp_path)
    done = await apply_region(load, "eu-west", options, only=_with_a_leaf)
    results = {r.zone: r for r in done.nats}
    assert results["ams-01"].status is NatsStatus.READY, results["ams-01"].error
    assert not results["ams-01"].changes.pending
    assert results["fra-02"].status is NatsStatus.DEGRADED
    assert "unreachable" in (results["fra-02"].error or "")

    nats_fleet.leaves["fra-02"].start()
    nats_fleet.wait_leafnodes(2)
    done = await apply_region(LoadResult(spec, (), "r2"), "eu-west", options, only=_with_a_leaf)
    results = {r.zone: r for r in done.nats}
    assert results["fra-02"].status is NatsStatus.READY, results["fra-02"].error
    created = {c.ref for c in results["fra-02"].changes.with_action(Action.CREATE)}
    assert len(created) == 5, created  # input, results, dead letters, the window changelog, one consumer
    assert "Stream/fra-02/state-fra-02" in created


async def test_zone_without_a_server_is_degraded(nats_fleet: NatsFleet, tmp_path: Path) -> None:
    options = nats_side_of_a_pass(nats_fleet.hub_endpoint(), FAST_RETRY, tmp_path)
    done = await apply_region(LoadResult(nats_fleet.spec, (), "r1"), "eu-west", options)
    results = {r.zone: r for r in done.nats}
    assert results["ams-01"].status is NatsStatus.READY
    assert results["lis-03"].status is NatsStatus.DEGRADED
    assert "unreachable" in (results["lis-03"].error or "")
    zone = {r.zone: r for r in done.zones}["lis-03"]
    assert zone.status is ZoneStatus.UNREACHABLE  # its Kubernetes side: no cluster in these tests
    assert "nats: NATS unreachable" in zone.message
