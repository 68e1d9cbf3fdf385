"""When a checkpoint is written (runtime.checkpoint): once `rows` inputs wait for one, without waiting out the
interval; after the interval when fewer wait; stopping ends the wait at once. Only after the write are the inputs
acked, in order, while a failed write keeps every ack back for the next checkpoint."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from runtime.checkpoint import Checkpointer
from runtime.metrics import Metrics

pytestmark = pytest.mark.unit


class _Store:
    """A feature store that records its writes; `fail` makes the next write raise."""

    def __init__(self) -> None:
        self.writes = 0
        self.fail = False
        self.requeued = 0

    def snapshot(self) -> object:
        return object()

    def write(self, snapshot: object) -> None:
        if self.fail:
            self.fail = False
            raise OSError("disk full")
        self.writes += 1

    def requeue(self, snapshot: object) -> None:
        self.requeued += 1


def _checkpointer(store: _Store, rows: int) -> Checkpointer:
    store_any: Any = store
    return Checkpointer(store_any, Metrics(), ThreadPoolExecutor(1), rows)


def _settle(checkpointer: Checkpointer, acked: list[int], i: int) -> None:
    """Input i waits for a checkpoint; its ack appends i to `acked`."""

    async def ack() -> None:
        acked.append(i)

    checkpointer.settle_later(ack)


async def _until(condition: Any) -> None:
    async with asyncio.timeout(5):
        while not condition():  # noqa: ASYNC110 - polling what the checkpointer's task changes
            await asyncio.sleep(0.005)


async def test_a_full_checkpoint_is_written_without_waiting_for_the_interval() -> None:
    store = _Store()
    checkpointer, acked = _checkpointer(store, rows=4), list[int]()
    stopping = asyncio.Event()
    task = asyncio.create_task(checkpointer.run(60.0, stopping))
    for i in range(3):
        _settle(checkpointer, acked, i)
    await asyncio.sleep(0.1)
    assert (store.writes, acked) == (0, [])  # three of four: the interval (a minute) is not over
    _settle(checkpointer, acked, 3)
    await _until(lambda: acked == [0, 1, 2, 3])
    assert store.writes == 1
    stopping.set()
    await task


async def test_fewer_than_rows_are_written_after_the_interval_and_stopping_ends_the_wait() -> None:
    store = _Store()
    checkpointer, acked = _checkpointer(store, rows=1000), list[int]()
    stopping = asyncio.Event()
    task = asyncio.create_task(checkpointer.run(0.05, stopping))
    _settle(checkpointer, acked, 0)
    await _until(lambda: acked == [0])
    task.cancel()
    waiting = asyncio.create_task(checkpointer.run(60.0, stopping))
    await asyncio.sleep(0.05)
    stopping.set()
    async with asyncio.timeout(5):  # not the minute: the service writes its last checkpoint after the drain
        await waiting


async def test_a_failed_write_keeps_the_acks_back_until_one_succeeds() -> None:
    store = _Store()
    checkpointer, acked = _checkpointer(store, rows=2), list[int]()
    stopping = asyncio.Event()
    task = asyncio.create_task(checkpointer.run(0.05, stopping))
    store.fail = True
    _settle(checkpointer, acked, 0)
    _settle(checkpointer, acked, 1)
    await _until(lambda: store.requeued == 1)
    assert acked == []
    await _until(lambda: acked == [0, 1])
    stopping.set()
    await task
