"""Weighted canary routing on a real zone server, configured from the rendered config file.

The template's ams-01 is partitioned: sensors publish `<input>.<key>`, and a route's subjects carry the partition and
the key (`<route>.<p>.<key>`, see tests/integration/nats/test_partitions.py); shares are counted per route.

Matrix: a 90/10 mapping splits 10,000 sensor messages within ±3 points | a weight change reaches the running
server by config file + reload and loses no message published across it | sensors may publish only to their input
subject tree | a hand edit of the config file is found and reverted | `create_only` (what a pass does before a
zone's Kubernetes apply moves the mapping) creates a new canary's consumer, so records routed to it are kept, and
never deletes or changes one; the full pass then keeps a retired consumer holding a record until it is acked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from reconciler.app.nats import apply_nats, plan_nats
from reconciler.core.nats import naming
from reconciler.core.plan import Action, DrainPolicy
from reconciler.core.spec import Zone
from tests.fixtures.nats_fleet import NatsFleet
from tests.integration.nats.helpers import connect, publish_acked, subject_counts, wait_for

pytestmark = pytest.mark.integration

STREAM = "input-ams-01-fraud-scoring"
INPUT = "payments.ams-01.tx"
STABLE = f"{INPUT}.stable.direct"
CANARY = f"{INPUT}.canary.live"
KEYED = f"{INPUT}.card-7"  # one key: its partition is fixed, the weights still pick the route per message


async def route_counts(jsm: Any, stream: str) -> dict[str, int]:
    """Messages per route (`<input>.<route>`), whatever their partition and key."""
    counts: dict[str, int] = {}
    for subject, n in (await subject_counts(jsm, stream)).items():
        route = subject.rsplit(".", 2)[0]
        counts[route] = counts.get(route, 0) + n
    return counts


def with_weight(zone: Zone, weight: int) -> Zone:
    assignment = zone.spec.models[0]
    assert assignment.canary is not None
    canary = assignment.canary.model_copy(update={"weight": weight})
    models = (assignment.model_copy(update={"canary": canary}),)
    return zone.model_copy(update={"spec": zone.spec.model_copy(update={"models": models})})


async def test_ninety_ten_split(nats_fleet: NatsFleet) -> None:
    zone = nats_fleet.zone("ams-01")
    assert zone.spec.models[0].canary is not None
    assert zone.spec.models[0].canary.weight == 10
    await apply_nats(nats_fleet.spec, zone, nats_fleet.endpoint("ams-01"), revision="r1")
    sensor = await connect(nats_fleet.endpoint("ams-01", naming.SENSOR_USER))
    admin = await connect(nats_fleet.endpoint("ams-01"))
    try:
        await publish_acked(sensor.jetstream(), KEYED, [f"m{i}" for i in range(10_000)])
        counts = await route_counts(admin.jsm(), STREAM)
    finally:
        await sensor.close()
        await admin.close()
    assert sum(counts.values()) == 10_000
    assert set(counts) == {STABLE, CANARY}
    canary_share = 100 * counts[CANARY] / 10_000
    assert 7.0 <= canary_share <= 13.0, counts


async def test_sensor_may_publish_only_its_input(nats_fleet: NatsFleet) -> None:
    await apply_nats(nats_fleet.spec, nats_fleet.zone("ams-01"), nats_fleet.endpoint("ams-01"), revision="r1")
    violations: list[str] = []

    async def on_error(exc: Exception) -> None:
        violations.append(str(exc))

    sensor = await connect(nats_fleet.endpoint("ams-01", naming.SENSOR_USER), error_cb=on_error)
    admin = await connect(nats_fleet.endpoint("ams-01"))
    try:
        await sensor.publish("payments.nyc-01.tx", b"forged")  # another zone's input: refused
        await sensor.publish("scores.ams-01.fraud", b"forged")  # a result: refused
        await sensor.flush()
        await wait_for(lambda: _at_least(violations, 2), "two permission violations")
        await publish_acked(sensor.jetstream(), KEYED, ["ok"])
        counts = await route_counts(admin.jsm(), STREAM)
    finally:
        await sensor.close()
        await admin.close()
    assert all("ermissions" in v for v in violations), violations
    assert sum(counts.values()) == 1


async def _at_least(items: list[str], n: int) -> bool:
    return len(items) >= n


async def test_weight_change_by_reload_loses_nothing(nats_fleet: NatsFleet) -> None:
    spec, zone = nats_fleet.spec, nats_fleet.zone("ams-01")
    endpoint, direct = nats_fleet.endpoint("ams-01"), nats_fleet.direct("ams-01")
    leaf = nats_fleet.leaves["ams-01"]
    await apply_nats(spec, zone, endpoint, revision="r1", server=direct)
    sensor = await connect(nats_fleet.endpoint("ams-01", naming.SENSOR_USER))
    admin = await connect(endpoint)
    js, jsm = sensor.jetstream(), admin.jsm()
    reloaded = asyncio.Event()
    published = 0

    async def produce() -> None:
        """Publish until 2,000 messages after the reload is confirmed, so the reload lands mid-stream."""
        nonlocal published
        after_reload = 0
        while after_reload < 2_000:
            await publish_acked(js, KEYED, [f"a{published + i}" for i in range(200)], batch=200)
            published += 200
            if reloaded.is_set():
                after_reload += 200

    try:
        producer = asyncio.create_task(produce())
        await wait_for(lambda: _published_at_least(lambda: published, 1_000), "1,000 messages before the reload")
        loaded_at = leaf.monitor("varz")["config_load_time"]
        result = await apply_nats(spec, with_weight(zone, 50), endpoint, revision="r2", server=direct)
        assert [c.kind for c in result.changes.with_action(Action.CONFIGURE)] == ["ServerConfig"]
        assert leaf.monitor("varz")["config_load_time"] != loaded_at  # apply returns once the server reloaded
        reloaded.set()
        await producer
        before = await route_counts(jsm, STREAM)
        assert sum(before.values()) == published  # every message published across the reload is in the stream
        # The new weight is in force: a fresh batch splits about 50/50.
        await publish_acked(js, KEYED, [f"b{i}" for i in range(4_000)])
        after = await route_counts(jsm, STREAM)
    finally:
        await sensor.close()
        await admin.close()
    assert sum(after.values()) == published + 4_000
    canary_share = 100 * (after[CANARY] - before.get(CANARY, 0)) / 4_000
    assert 45.0 <= canary_share <= 55.0, (before, after)


async def _published_at_least(count: Callable[[], int], n: int) -> bool:
    return count() >= n


async def test_hand_edited_config_file_is_reverted(nats_fleet: NatsFleet) -> None:
    spec, zone = nats_fleet.spec, nats_fleet.zone("ams-01")
    endpoint, direct = nats_fleet.endpoint("ams-01"), nats_fleet.direct("ams-01")
    await apply_nats(spec, zone, endpoint, revision="r1", server=direct)
    rendered = direct.config_path.read_text()
    direct.config_path.write_text(rendered.replace('weight: "10%"', 'weight: "30%"').replace('"90%"', '"70%"'))
    plan = await plan_nats(spec, zone, endpoint, server=direct)
    (config_change,) = [c for c in plan.changes if c.kind == "ServerConfig"]
    assert config_change.action is Action.CONFIGURE
    assert '-          weight: "30%"' in config_change.diff
    await apply_nats(spec, zone, endpoint, revision="r1", server=direct)
    assert direct.config_path.read_text() == rendered
    again = await plan_nats(spec, zone, endpoint, server=direct)
    assert not again.changes.pending


def without_canary(zone: Zone) -> Zone:
    models = tuple(a.model_copy(update={"canary": None}) for a in zone.spec.models)
    return zone.model_copy(update={"spec": zone.spec.model_copy(update={"models": models})})


async def _consumers(jsm: Any) -> set[str]:
    return {c.name for c in await jsm.consumers_info(STREAM)}


def _partitions(track: str) -> set[str]:
    return {f"fraud-scoring-{track}-p{p}" for p in range(12)}  # ams-01: partitions: 12


async def test_create_only_adds_the_canary_consumer_first_and_deletes_nothing(nats_fleet: NatsFleet) -> None:
    spec, zone, endpoint = nats_fleet.spec, nats_fleet.zone("ams-01"), nats_fleet.endpoint("ams-01")
    stable_only = without_canary(zone)
    await apply_nats(spec, stable_only, endpoint, revision="r1")
    admin = await connect(endpoint)
    try:
        jsm = admin.jsm()
        assert await _consumers(jsm) == _partitions("stable")
        created = await apply_nats(spec, zone, endpoint, revision="r2", create_only=True)
        assert {c.name for c in created.changes.with_action(Action.CREATE)} == {
            f"{STREAM}/{name}" for name in _partitions("canary")
        }
        assert await _consumers(jsm) == _partitions("stable") | _partitions("canary")
        # A record routed to the canary now has a consumer that wants it: the interest stream keeps it.
        await publish_acked(admin.jetstream(), f"{CANARY}.3.card-7", ["routed-to-canary"])
        assert (await route_counts(jsm, STREAM)).get(CANARY) == 1
        # Going back, a create-only pass deletes nothing; the full pass after the apply keeps the canary's
        # consumers while one of them holds the record (the track retires as one), and deletes them all once it
        # is acknowledged.
        kept = await apply_nats(spec, stable_only, endpoint, revision="r3", create_only=True)
        assert not list(kept.changes.with_action(Action.PRUNE))
        assert _partitions("canary") <= await _consumers(jsm)
        draining = await apply_nats(spec, stable_only, endpoint, revision="r3")
        assert [(d.durable, d.records) for d in draining.draining if d.records] == [("fraud-scoring-canary-p3", 1)]
        assert {d.durable for d in draining.draining} == _partitions("canary")
        assert await _consumers(jsm) == _partitions("stable") | _partitions("canary")
        runtime = await admin.jetstream().pull_subscribe_bind("fraud-scoring-canary-p3", STREAM)
        (record,) = await runtime.fetch(1, timeout=10)
        await record.ack_sync()
        drained = await apply_nats(spec, stable_only, endpoint, revision="r3", drain=DrainPolicy(settle_s=0.0))
        assert not drained.draining
        assert await _consumers(jsm) == _partitions("stable")
    finally:
        await admin.close()
