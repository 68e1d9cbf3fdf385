"""NATS unreachable: the zone is reported Degraded and retried; the other zones of the region are unaffected.

Matrix: a stopped leaf server addressed directly | the same zone addressed through the hub (no JetStream answers
in its domain) | the zone converges on the next pass once its server is back.
"""

from __future__ import annotations

import time

import pytest

from reconciler.app.nats import NatsStatus, RetryPolicy, apply_region_nats
from reconciler.core.plan import Action
from tests.fixtures.nats_fleet import NatsFleet

pytestmark = pytest.mark.integration

FAST_RETRY = RetryPolicy(attempts=3, first_delay_s=0.1, max_delay_s=0.5)


async def test_down_zone_is_degraded_and_others_converge(nats_fleet: NatsFleet) -> None:
    spec = nats_fleet.spec
    zones = [nats_fleet.zone("ams-01"), nats_fleet.zone("fra-02")]
    nats_fleet.leaves["fra-02"].stop()
    endpoints = {"ams-01": nats_fleet.endpoint("ams-01"), "fra-02": nats_fleet.endpoint("fra-02")}
    started = time.monotonic()
    results = await apply_region_nats(spec, zones, endpoints, revision="r1", retry=FAST_RETRY)
    assert results["ams-01"].status is NatsStatus.READY, results["ams-01"].error
    assert len(results["ams-01"].changes.with_action(Action.CREATE)) == 5
    down = results["fra-02"]
    assert down.status is NatsStatus.DEGRADED
    assert down.error is not None
    assert "unreachable" in down.error
    assert time.monotonic() - started >= 0.1 + 0.2  # it was retried with backoff before giving up

    # Through the hub: the leafnode is gone, so nothing answers in fra-02's domain.
    via_hub = {"ams-01": nats_fleet.via_hub("ams-01"), "fra-02": nats_fleet.via_hub("fra-02")}
    results = await apply_region_nats(spec, zones, via_hub, revision="r1", retry=FAST_RETRY)
    assert results["ams-01"].status is NatsStatus.READY, results["ams-01"].error
    assert not results["ams-01"].changes.pending
    assert results["fra-02"].status is NatsStatus.DEGRADED
    assert "unreachable" in (results["fra-02"].error or "")

    nats_fleet.leaves["fra-02"].start()
    nats_fleet.wait_leafnodes(2)
    results = await apply_region_nats(spec, zones, endpoints, revision="r2", retry=FAST_RETRY)
    assert results["fra-02"].status is NatsStatus.READY, results["fra-02"].error
    assert len(results["fra-02"].changes.with_action(Action.CREATE)) == 4


async def test_zone_without_endpoint_is_degraded(nats_fleet: NatsFleet) -> None:
    zones = [nats_fleet.zone("ams-01"), nats_fleet.zone("fra-02")]
    results = await apply_region_nats(
        nats_fleet.spec, zones, {"ams-01": nats_fleet.endpoint("ams-01")}, revision="r1", retry=FAST_RETRY
    )
    assert results["ams-01"].status is NatsStatus.READY
    assert results["fra-02"].status is NatsStatus.DEGRADED
    assert results["fra-02"].error == "no NATS endpoint configured"
