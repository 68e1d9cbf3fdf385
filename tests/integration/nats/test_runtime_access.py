"""The runtime's NATS user against the assets, doing what `runtime/sources/jetstream.py` does.

Matrix: bind to its durables (stable, canary; one per partition of the template's partitioned ams-01), fetch, read the consumer's state, read the unacked tail straight from
the stream, publish results and dead letters, ack | refused: managing streams, publishing sensor input | interest retention: once every track has
acked, the input stream is empty.
"""

from __future__ import annotations

import asyncio

import nats.errors
import pytest

from reconciler.app.nats import apply_nats
from reconciler.core.nats import naming
from runtime.config import Track
from tests.fixtures.nats_fleet import NatsFleet
from tests.integration.nats.helpers import connect, publish_acked, wait_for

pytestmark = pytest.mark.integration

STREAM = "input-ams-01-fraud-scoring"


async def test_runtime_consumes_publishes_and_acks(nats_fleet: NatsFleet) -> None:
    zone = nats_fleet.zone("ams-01")
    await apply_nats(nats_fleet.spec, zone, nats_fleet.endpoint("ams-01"), revision="r1")
    sensor = await connect(nats_fleet.endpoint("ams-01", naming.SENSOR_USER))
    try:
        for key in range(8):  # ams-01 is partitioned: sensors publish <input>.<key>
            await publish_acked(
                sensor.jetstream(), f"payments.ams-01.tx.card-{key}", [f"s{key}-{i}" for i in range(50)]
            )
    finally:
        await sensor.close()

    violations: list[str] = []

    async def on_error(exc: Exception) -> None:
        violations.append(str(exc))

    runtime = await connect(nats_fleet.endpoint("ams-01", naming.RUNTIME_USER), error_cb=on_error)
    admin = await connect(nats_fleet.endpoint("ams-01"))
    try:
        js = runtime.jetstream()
        consumed = 0
        for track, p in ((track, p) for track in (Track.STABLE, Track.CANARY) for p in range(12)):
            names = naming.track_names("ams-01", "fraud-scoring", "payments.ams-01.tx", "scores.ams-01.fraud", track)
            durable = naming.partition_durable("fraud-scoring", track, p)
            psub = await js.pull_subscribe_bind(durable=durable, stream=names.stream)
            info = await js.consumer_info(names.stream, durable)
            assert info.config.filter_subject == naming.partition_filter("payments.ams-01.tx", track, p)
            while True:
                try:
                    batch = await psub.fetch(100, timeout=1)
                except Exception:  # nothing left for this track
                    break
                first = batch[0].metadata.sequence.stream
                raw = await js.get_msg(names.stream, first, next=True)  # how the runtime replays its tail
                assert raw.seq == first
                for msg in batch:
                    await js.publish(
                        names.result, b"{}", headers={"Nats-Msg-Id": f"{track.value}:{msg.header['Nats-Msg-Id']}"}
                    )
                    await msg.ack()
                consumed += len(batch)
            await js.publish(names.dead_letter, b"bad", headers={"Edgeops-Reason": "test"})
        assert consumed == 400

        # Refused: managing streams (the request is dropped, so it times out), injecting sensor input.
        with pytest.raises((nats.errors.TimeoutError, nats.errors.NoRespondersError)):
            await runtime.jsm(timeout=2).delete_stream(STREAM)
        await runtime.publish("payments.ams-01.tx.card-1", b"forged")
        await runtime.flush()
        await wait_for(lambda: _at_least(violations, 2), "permission violations")

        async def input_drained() -> bool:
            return (await admin.jsm().stream_info(STREAM)).state.messages == 0

        await wait_for(input_drained, "the input stream to empty once every track acked (interest retention)")
        results = await admin.jsm().stream_info(naming.result_stream("ams-01"))
        dead = await admin.jsm().stream_info(naming.dead_letter_stream("ams-01"))
        assert (await admin.jsm().stream_info(STREAM)).config.name == STREAM
    finally:
        await runtime.close()
        await admin.close()
    assert results.state.messages == 400
    assert dead.state.messages == 2 * 12  # one per consumer bound
    assert all("ermissions" in v for v in violations), violations


async def _at_least(items: list[str], n: int) -> bool:
    await asyncio.sleep(0)
    return len(items) >= n
