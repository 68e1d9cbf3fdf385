"""A partitioned model assignment on a real zone server, configured from the rendered config and JetStream assets.

The template's ams-01 serves fraud-scoring with `replicas: 2, partitions: 12` and a live 10 % canary. Matrix:
- live canary: 6,000 records over 300 keys published to `<input>.<key>` land once each, in exactly the consumer of
  their key's partition (FNV-1a of the key token mod 12, nats-server's `partition`), the same partition for the
  stable and the canary track; the canary's share is about 10 %; every partition's consumer gets keys;
- shadow phase: stable consumers get every record, the shadow consumer of the same partition the mirrored ones;
- sensors may publish `<input>.<key>` only: the bare input subject and deeper subjects are refused.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import pytest

from reconciler.app.nats import NatsStatus, apply_nats
from reconciler.core.nats import active_tracks, naming
from reconciler.core.plan import Action
from reconciler.core.spec import Zone
from runtime import Track
from tests.fixtures.nats_fleet import NatsFleet
from tests.integration.nats.helpers import connect, publish_acked, wait_for

pytestmark = pytest.mark.integration

ZONE = "ams-01"
MODEL = "fraud-scoring"
STREAM = "input-ams-01-fraud-scoring"
INPUT = "payments.ams-01.tx"
PARTITIONS = 12


def fnv1a32(data: bytes) -> int:
    value = 0x811C9DC5
    for byte in data:
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value


def records(count: int, keys: int) -> list[tuple[str, str]]:
    """(message id, key): keys shaped like card ids, round robin."""
    return [(f"m{i}", f"card-{i % keys:04d}") for i in range(count)]


async def publish_keyed(js: Any, batch: list[tuple[str, str]]) -> None:
    """Each record to `<input>.<key>`, waiting for every JetStream ack (a retry keeps its `Nats-Msg-Id`)."""
    key_of = dict(batch)
    await publish_acked(js, lambda msg_id: f"{INPUT}.{key_of[msg_id]}", list(key_of))


async def drain(nc: Any, durable: str) -> list[str]:
    """Every subject the durable consumer has pending now (acked, so nothing is delivered twice)."""
    pending = (await nc.jsm().consumer_info(STREAM, durable)).num_pending
    sub = await nc.jetstream().pull_subscribe_bind(durable=durable, stream=STREAM)
    subjects: list[str] = []
    try:
        while len(subjects) < pending:
            for msg in await sub.fetch(min(500, pending - len(subjects)), timeout=10):
                subjects.append(msg.subject)
                await msg.ack()
    finally:
        await sub.unsubscribe()
    return subjects


def with_canary(zone: Zone, **update: object) -> Zone:
    assignment = zone.spec.models[0]
    assert assignment.canary is not None
    models = (assignment.model_copy(update={"canary": assignment.canary.model_copy(update=update)}),)
    return zone.model_copy(update={"spec": zone.spec.model_copy(update={"models": models})})


async def delivered(fleet: NatsFleet, zone: Zone, batch: list[tuple[str, str]]) -> dict[tuple[Track, int], list[str]]:
    """Apply the zone's NATS side, publish `batch` as a sensor, and drain every consumer: (track, partition) →
    the keys it delivered."""
    leaf = fleet.leaves[ZONE]
    loaded_at = leaf.monitor("varz")["config_load_time"]
    result = await apply_nats(fleet.spec, zone, fleet.endpoint(ZONE), revision="r1", server=fleet.direct(ZONE))
    assert result.status is NatsStatus.READY, result.error
    if result.changes.with_action(Action.CONFIGURE):  # the mapping changed: apply returns once it is in force
        assert leaf.monitor("varz")["config_load_time"] != loaded_at
    sensor = await connect(fleet.endpoint(ZONE, naming.SENSOR_USER))
    admin = await connect(fleet.endpoint(ZONE))
    try:
        await publish_keyed(sensor.jetstream(), batch)
        out: dict[tuple[Track, int], list[str]] = {}
        for track in active_tracks(zone.spec.models[0]):
            for p in range(PARTITIONS):
                subjects = await drain(admin, naming.partition_durable(MODEL, track, p))
                assert all(s.split(".")[-2] == str(p) for s in subjects), (track, p, subjects[:5])
                out[(track, p)] = [s.split(".")[-1] for s in subjects]
        return out
    finally:
        await sensor.close()
        await admin.close()


def partitions_of(out: dict[tuple[Track, int], list[str]]) -> dict[str, set[int]]:
    seen: dict[str, set[int]] = defaultdict(set)
    for (_, p), keys in out.items():
        for key in keys:
            seen[key].add(p)
    return seen


async def test_live_canary_each_key_in_its_partition(nats_fleet: NatsFleet) -> None:
    zone = nats_fleet.zone(ZONE)
    assignment = zone.spec.models[0]
    assert (assignment.replicas, assignment.partitions) == (2, PARTITIONS)
    assert assignment.canary is not None
    assert (assignment.canary.phase, assignment.canary.weight) == ("live", 10)
    batch = records(6_000, 300)

    out = await delivered(nats_fleet, zone, batch)

    assert sum(len(keys) for keys in out.values()) == len(batch)  # every record once, in one consumer
    sent = Counter(key for _, key in batch)
    assert Counter(key for keys in out.values() for key in keys) == sent
    for key, parts in partitions_of(out).items():
        assert parts == {fnv1a32(key.encode()) % PARTITIONS}, key  # stable and canary agree on the partition
    assert all(out[(Track.STABLE, p)] for p in range(PARTITIONS)), "a partition got no keys"
    canary = sum(len(out[(Track.CANARY, p)]) for p in range(PARTITIONS))
    assert 7.0 <= 100 * canary / len(batch) <= 13.0, canary


async def test_shadow_phase_mirrors_into_the_same_partition(nats_fleet: NatsFleet) -> None:
    zone = with_canary(nats_fleet.zone(ZONE), phase="shadow", weight=0)
    batch = records(3_000, 200)

    out = await delivered(nats_fleet, zone, batch)

    stable = Counter(k for p in range(PARTITIONS) for k in out[(Track.STABLE, p)])
    assert stable == Counter(key for _, key in batch)  # stable scores everything, mirrored or not
    shadow = [k for p in range(PARTITIONS) for k in out[(Track.SHADOW, p)]]
    assert shadow, "the shadow track got no mirrored records"
    for key, parts in partitions_of(out).items():
        assert parts == {fnv1a32(key.encode()) % PARTITIONS}, key


async def test_sensors_publish_the_key_as_the_last_token_only(nats_fleet: NatsFleet) -> None:
    result = await apply_nats(nats_fleet.spec, nats_fleet.zone(ZONE), nats_fleet.endpoint(ZONE), revision="r1")
    assert result.status is NatsStatus.READY, result.error
    violations: list[str] = []

    async def on_error(exc: Exception) -> None:
        violations.append(str(exc))

    sensor = await connect(nats_fleet.endpoint(ZONE, naming.SENSOR_USER), error_cb=on_error)
    admin = await connect(nats_fleet.endpoint(ZONE))
    try:
        await sensor.publish(INPUT, b"no key")  # would match no mapping: refused rather than lost
        await sensor.publish(f"{INPUT}.card-1.extra", b"two tokens")
        await sensor.flush()
        await wait_for(lambda: _at_least(violations, 2), "two permission violations")
        await publish_keyed(sensor.jetstream(), [("ok", "card-1")])
        info = await admin.jsm().stream_info(STREAM, subjects_filter=">")
    finally:
        await sensor.close()
        await admin.close()
    assert all("ermissions" in v for v in violations), violations
    assert info.state.messages == 1
    assert list(info.state.subjects or {}) in (
        [f"{INPUT}.stable.direct.{fnv1a32(b'card-1') % PARTITIONS}.card-1"],
        [f"{INPUT}.canary.live.{fnv1a32(b'card-1') % PARTITIONS}.card-1"],
    )


async def _at_least(items: list[str], n: int) -> bool:
    return len(items) >= n
