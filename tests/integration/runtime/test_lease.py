"""`runtime.lease.PartitionLease` against a real nats-server's state stream (the last message per subject): of two
processes claiming one lease at once exactly one holds it and the other waits through its renewals until it is
released; a holder that cannot renew (the server gone) gives the lease up, and only then can another process claim
it, once it has gone unrenewed for its TTL; a holder notices at its next renewal that another process wrote the
lease; and a process on the same feature store claims a lease its dead predecessor still held without waiting (with
a TTL of ten minutes, a wait would time the test out)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import nats
import pytest

from runtime.lease import EXPECTED_LAST_SUBJECT_SEQ, LeaseRecord, Observed, PartitionLease, read_last, trust_local
from runtime.metrics import Metrics
from tests.fixtures.edge_runtime import setup_streams
from tests.fixtures.nats import NatsServer
from tests.integration.runtime.helpers import wait_for

pytestmark = pytest.mark.integration

SUBJECT = "state.m.stable.p0.lease"
LONG_TTL_MS = 600_000


@pytest.fixture
async def js(nats_server: NatsServer) -> AsyncIterator[Any]:
    nc = await nats.connect(nats_server.url, max_reconnect_attempts=-1, reconnect_time_wait=0.1)
    js = nc.jetstream()
    await setup_streams(js, state=True)
    yield js
    await nc.close()


def _lease(js: Any, store: str, ttl_ms: int = LONG_TTL_MS, renew_ms: int = 100) -> PartitionLease:
    return PartitionLease(js, "STATE", SUBJECT, unit="m.stable.p0", store=store, ttl_ms=ttl_ms, renew_ms=renew_ms,
                          metrics=Metrics())  # fmt: skip


def _count(lease: PartitionLease, name: str, **labels: str) -> float:
    assert lease.metrics is not None
    return lease.metrics.registry.get_sample_value(name, {"unit": lease.unit, **labels}) or 0.0


async def test_of_two_claimants_one_holds_and_the_other_waits_for_its_release(js: Any) -> None:
    stopping = asyncio.Event()
    a, b = _lease(js, "store-a"), _lease(js, "store-b")
    claims = {asyncio.create_task(a.acquire(stopping)): a, asyncio.create_task(b.acquire(stopping)): b}
    done, pending = await asyncio.wait(claims, timeout=30, return_when=asyncio.FIRST_COMPLETED)
    (first_task,) = done
    (second_task,) = pending
    first, second = claims[first_task], claims[second_task]
    keeper = asyncio.create_task(first.keep(stopping, lambda: pytest.fail("the holder lost its lease")))
    renewed_from = first.seq
    await wait_for(lambda: _true(first.seq >= renewed_from + 3), 30, "three renewals")
    assert not second_task.done()  # the holder renews: the other keeps waiting (its TTL is ten minutes)
    assert _count(second, "edgeops_partition_lease_waiting") == 1
    stopping.set()
    await keeper
    await first.release()
    previous = await asyncio.wait_for(second.acquire(asyncio.Event()), 30)
    second_task.cancel()
    assert previous is not None
    assert previous.record == LeaseRecord(first.mine.holder, first.mine.store, held=False, ttl_ms=LONG_TTL_MS)
    assert not trust_local(previous, second.mine.store)  # the other store consumed it: restore from the changelog
    assert _count(second, "edgeops_partition_lease_acquired_total", previous="released") == 1


async def test_a_holder_that_cannot_renew_gives_up_before_another_may_claim(js: Any, nats_server: NatsServer) -> None:
    stopping = asyncio.Event()
    holder = _lease(js, "store-a", ttl_ms=2000, renew_ms=200)
    assert await holder.acquire(stopping) is not None
    fenced_at: list[float] = []
    keeper = asyncio.create_task(holder.keep(stopping, lambda: fenced_at.append(time.monotonic())))
    nats_server.stop()
    await wait_for(lambda: _true(bool(fenced_at)), 60, "the holder to give its lease up")
    assert not holder.valid()
    assert _count(holder, "edgeops_partition_lease_lost_total") == 1
    await keeper
    nats_server.start()
    claimant = _lease(js, "store-b", ttl_ms=2000, renew_ms=200)
    previous = await asyncio.wait_for(claimant.acquire(asyncio.Event()), 60)
    claimed_at = time.monotonic()
    assert previous is not None
    assert previous.record is not None
    assert previous.record.store == "store-a"
    assert previous.record.held  # never released: it expired
    assert fenced_at[0] < claimed_at
    assert _count(claimant, "edgeops_partition_lease_acquired_total", previous="expired") == 1


async def test_a_holder_notices_another_writer_at_its_next_renewal(js: Any) -> None:
    stopping = asyncio.Event()
    holder = _lease(js, "store-a")
    await holder.acquire(stopping)
    lost = asyncio.Event()
    keeper = asyncio.create_task(holder.keep(stopping, lost.set))
    seq, _ = await read_last(js, "STATE", SUBJECT)
    intruder = LeaseRecord("elsewhere:1", "store-z", held=True, ttl_ms=LONG_TTL_MS)
    await js.publish(SUBJECT, intruder.encode(), headers={EXPECTED_LAST_SUBJECT_SEQ: str(seq)})
    await asyncio.wait_for(lost.wait(), 30)
    await keeper
    assert not holder.valid()
    await holder.release()  # not valid: leaves the intruder's record alone
    _, data = await read_last(js, "STATE", SUBJECT)
    assert LeaseRecord.decode(data) == intruder


async def test_the_same_store_claims_its_dead_predecessors_lease_at_once(js: Any) -> None:
    dead = _lease(js, "store-a")
    await dead.acquire(asyncio.Event())  # then never renewed nor released: SIGKILLed
    successor = _lease(js, "store-a")
    previous = await asyncio.wait_for(successor.acquire(asyncio.Event()), 30)
    assert isinstance(previous, Observed)
    assert trust_local(previous, "store-a")  # its own file is current: nobody else consumed the partition
    assert _count(successor, "edgeops_partition_lease_acquired_total", previous="restarted") == 1


async def _true(value: bool) -> bool:
    return value
