"""Edge-to-core sync: zone results reach the region hub's stream through the leafnode, by JetStream domain.

Matrix: the hub stream sources both zones (config read back) | results of both zones arrive complete |
the hub goes down and comes back (link cut at the core) | a leaf goes down and comes back (link cut at the edge),
with results published while the link is down | every time: no loss and no duplicates, counted by message id.
"""

from __future__ import annotations

import pytest

from reconciler.app.nats import NatsStatus, apply_hub, apply_nats
from reconciler.core.nats import naming
from tests.fixtures.nats_fleet import NatsFleet
from tests.integration.nats.helpers import connect, publish_acked, stream_ids, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HUB_STREAM = naming.hub_stream("eu-west")
OUTPUT = {"ams-01": "scores.ams-01.fraud", "fra-02": "insights.fra-02.anomaly"}


async def _publish_results(fleet: NatsFleet, zone: str, ids: list[str]) -> None:
    runtime = await connect(fleet.endpoint(zone, naming.RUNTIME_USER))
    try:
        await publish_acked(runtime.jetstream(), OUTPUT[zone], ids)
    finally:
        await runtime.close()


async def _hub_ids(fleet: NatsFleet) -> list[str]:
    hub = await connect(fleet.hub_endpoint())
    try:
        return await stream_ids(hub.jsm(), HUB_STREAM)
    finally:
        await hub.close()


async def _wait_hub_has(fleet: NatsFleet, expected: set[str]) -> None:
    async def arrived() -> bool:
        return len(await _hub_ids(fleet)) >= len(expected)

    # The server retries a broken source with growing pauses: catching up takes 20-40 s here after a cut.
    await wait_for(arrived, f"{len(expected)} results in the hub stream", timeout_s=180)
    ids = await _hub_ids(fleet)
    assert len(ids) == len(set(ids)), "duplicates in the hub stream"
    assert set(ids) == expected


async def test_results_sync_to_the_hub_across_link_cuts(nats_fleet: NatsFleet) -> None:
    spec = nats_fleet.spec
    for zone in ("ams-01", "fra-02"):
        result = await apply_nats(spec, nats_fleet.zone(zone), nats_fleet.endpoint(zone), revision="r1")
        assert result.status is NatsStatus.READY, result.error
    hub = await apply_hub(spec, "eu-west", nats_fleet.hub_endpoint(), revision="r1")
    assert hub.status is NatsStatus.READY, hub.error
    hub_client = await connect(nats_fleet.hub_endpoint())
    try:
        sources = (await hub_client.jsm().stream_info(HUB_STREAM)).config.sources
    finally:
        await hub_client.close()
    # lis-03 is in the region too but has no server in this test: its source just waits for it.
    assert sorted((s.name, s.external.api) for s in sources) == [
        ("results-ams-01", "$JS.ams-01.API"),
        ("results-fra-02", "$JS.fra-02.API"),
        ("results-lis-03", "$JS.lis-03.API"),
    ]

    expected: set[str] = set()
    for zone in ("ams-01", "fra-02"):
        ids = [f"{zone}:first:{i}" for i in range(300)]
        await _publish_results(nats_fleet, zone, ids)
        expected |= set(ids)
    await _wait_hub_has(nats_fleet, expected)

    # Cut at the core: the hub stops; zones keep producing into their own streams; the hub comes back.
    nats_fleet.hub.stop()
    for zone in ("ams-01", "fra-02"):
        ids = [f"{zone}:hub-down:{i}" for i in range(300)]
        await _publish_results(nats_fleet, zone, ids)
        expected |= set(ids)
    nats_fleet.hub.start()
    nats_fleet.wait_leafnodes(2)
    await _wait_hub_has(nats_fleet, expected)

    # Cut at the edge: a leaf restarts (its stream survives on disk), with results on both sides of the restart.
    ids = [f"ams-01:before-restart:{i}" for i in range(200)]
    await _publish_results(nats_fleet, "ams-01", ids)
    expected |= set(ids)
    nats_fleet.leaves["ams-01"].restart()
    nats_fleet.wait_leafnodes(2)
    ids = [f"ams-01:after-restart:{i}" for i in range(200)]
    await _publish_results(nats_fleet, "ams-01", ids)
    expected |= set(ids)
    await _wait_hub_has(nats_fleet, expected)
