"""The runtime's continuous pull (`runtime.sources.pull.PullPump`) against a real nats-server: records stored after
the pump opened reach it without a fetch per batch; the credit it keeps open, hence what it buffers, stays bounded
however much the stream holds; it carries on after its consumer is deleted and created again, and after the server
restarts; `close()` strands nothing on the server (every record delivered to it is taken), while `abandon()` takes
nothing more and leaves the rest to the server's redelivery."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import nats
import pytest
from nats.js.api import AckPolicy, ConsumerConfig, StorageType, StreamConfig

from runtime.sources.pull import PullPump
from tests.fixtures.nats import NatsServer

pytestmark = pytest.mark.integration

STREAM, DURABLE, BATCH = "IN", "pump", 8


async def _consumer(js: Any, ack_wait: float = 30.0) -> None:
    await js.add_consumer(STREAM, ConsumerConfig(durable_name=DURABLE, ack_policy=AckPolicy.EXPLICIT,
                                                 ack_wait=ack_wait, max_ack_pending=10_000))  # fmt: skip


@pytest.fixture
async def nc(nats_server: NatsServer) -> AsyncIterator[Any]:
    nc = await nats.connect(nats_server.url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    js = nc.jetstream()
    await js.add_stream(StreamConfig(name=STREAM, subjects=["in.>"], storage=StorageType.FILE))
    await _consumer(js)
    try:
        yield nc
    finally:
        await nc.close()


async def _publish(js: Any, first: int, count: int) -> None:
    for i in range(first, first + count):
        for attempt in range(50):  # just after a restart JetStream may not answer yet; the msg id makes a retry safe
            try:
                await js.publish(f"in.{i}", str(i).encode(), headers={"Nats-Msg-Id": str(i)})
                break
            except (TimeoutError, nats.errors.NoRespondersError):
                if attempt == 49:
                    raise
                await asyncio.sleep(0.2)


async def _take_all(pump: PullPump, count: int) -> list[int]:
    got: list[int] = []
    deadline = time.monotonic() + 20
    while len(got) < count and time.monotonic() < deadline:
        for msg in await pump.take(BATCH, 0.5):
            got.append(int(msg.data))
            await msg.ack()
    return got


async def test_records_stored_after_open_arrive_in_order_in_batches_of_at_most_the_limit(nc: Any) -> None:
    js = nc.jetstream()
    pump = PullPump(nc, STREAM, DURABLE, batch=BATCH)
    await pump.open()
    await pump.top_up()
    await _publish(js, 0, 50)
    got: list[int] = []
    while len(got) < 50:
        batch = await pump.take(BATCH, 5.0)
        assert batch, "a stored record did not arrive"
        assert len(batch) <= BATCH
        for msg in batch:
            got.append(int(msg.data))
            await msg.ack()
    assert got == list(range(50))
    await pump.unsubscribe()


async def test_what_it_buffers_stays_within_its_open_credit(nc: Any) -> None:
    js = nc.jetstream()
    await _publish(js, 0, 2000)
    pump = PullPump(nc, STREAM, DURABLE, batch=BATCH)
    await pump.open()
    for _ in range(20):  # ask again and again without taking: the credit is capped, not cumulative
        await pump.top_up()
        await asyncio.sleep(0.05)
    assert 0 < len(pump.buffer) <= pump.max_buffered
    info = await js.consumer_info(STREAM, DURABLE)
    assert info.num_ack_pending == len(pump.buffer)  # nothing delivered that the pump does not hold
    await pump.unsubscribe()


async def test_it_carries_on_after_its_consumer_is_deleted_and_created_again(nc: Any) -> None:
    js = nc.jetstream()
    pump = PullPump(nc, STREAM, DURABLE, batch=BATCH)
    await pump.open()
    await _publish(js, 0, 10)
    assert await _take_all(pump, 10) == list(range(10))
    await js.delete_consumer(STREAM, DURABLE)
    await asyncio.sleep(0.3)
    await _consumer(js)  # a new consumer starts from the stream's first record again
    await _publish(js, 10, 5)
    assert await _take_all(pump, 15) == list(range(15))
    await pump.unsubscribe()


async def test_it_carries_on_after_the_server_restarts(nc: Any, nats_server: NatsServer) -> None:
    js = nc.jetstream()
    pump = PullPump(nc, STREAM, DURABLE, batch=BATCH)
    await pump.open()
    await _publish(js, 0, 10)
    assert await _take_all(pump, 10) == list(range(10))
    nats_server.restart()
    deadline = time.monotonic() + 20
    while not nc.is_connected and time.monotonic() < deadline:  # noqa: ASYNC110 - polling a client flag
        await asyncio.sleep(0.1)
    await _publish(js, 10, 10)
    assert await _take_all(pump, 10) == list(range(10, 20))
    await pump.unsubscribe()


async def test_close_takes_everything_its_open_requests_deliver_and_strands_nothing(nc: Any) -> None:
    js = nc.jetstream()
    pump = PullPump(nc, STREAM, DURABLE, batch=BATCH, expires_s=1.0)
    await pump.open()
    await pump.top_up()
    pump.close()
    await _publish(js, 0, 100)  # arriving while closing: the requests still open are filled
    got: list[int] = []
    while pump.draining:
        for msg in await pump.take(BATCH, 0.1):
            got.append(int(msg.data))
            await msg.ack()
    await pump.unsubscribe()
    assert got == list(range(len(got)))
    assert 0 < len(got) <= 2 * BATCH  # only what was asked for before closing
    await asyncio.sleep(0.2)
    info = await js.consumer_info(STREAM, DURABLE)
    assert info.num_ack_pending == 0  # nothing delivered and left to time out on the server
    assert info.num_pending == 100 - len(got)


async def test_abandon_takes_nothing_more_and_the_server_redelivers_the_rest(nats_server: NatsServer) -> None:
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    await js.add_stream(StreamConfig(name=STREAM, subjects=["in.>"], storage=StorageType.FILE))
    await _consumer(js, ack_wait=1.0)
    await _publish(js, 0, 5)
    pump = PullPump(nc, STREAM, DURABLE, batch=BATCH)
    await pump.open()
    await pump.top_up()
    deadline = time.monotonic() + 10
    while len(pump.buffer) < 5 and time.monotonic() < deadline:  # noqa: ASYNC110 - polling the pump's buffer
        await asyncio.sleep(0.05)
    await pump.abandon()
    assert await pump.take(BATCH, 0.2) == []
    other = PullPump(nc, STREAM, DURABLE, batch=BATCH)
    await other.open()
    assert await _take_all(other, 5) == list(range(5))  # redelivered after ack_wait
    await other.unsubscribe()
    await nc.close()
