"""Checkpoints: the changed windows go to DuckDB, and only then are their inputs acked.

That order is rule 2 of the ack protocol (`runtime.sources.jetstream`): an input is settled only once its result
is confirmed (the source hands its ack over then) *and* the window change it caused is in a checkpoint, so a
crash in between means a redelivery, never a loss. A failed write keeps the acks back and is retried.

A checkpoint is written once `rows` inputs wait for one, or `interval` after the last, whichever comes first. A
checkpoint has a fixed cost (about 3 ms of DuckDB in the writer process) on top of its rows, so writing by count
keeps the cost per message the same at any rate and for any number of replicas sharing a rate, where a fixed
interval would pay it per process and per interval; the interval bounds how long an ack waits when traffic is thin.
Results never wait for a checkpoint, only acks do.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from runtime.metrics import Metrics
from runtime.sources import Settle
from runtime.store import FeatureStore

log = logging.getLogger("edgeops.runtime")

ACK_SLICE = 16


class Checkpointer:
    """Writes changed windows to DuckDB every interval, then settles (acks) what that checkpoint covers."""

    def __init__(self, store: FeatureStore, metrics: Metrics, executor: ThreadPoolExecutor, rows: int) -> None:
        self.store = store
        self.metrics = metrics
        self.executor = executor
        self.rows = rows
        self.pending: list[Settle] = []
        self._due = asyncio.Event()  # `rows` inputs wait for a checkpoint

    def settle_later(self, settle: Settle) -> None:
        self.pending.append(settle)
        if len(self.pending) >= self.rows:
            self._due.set()

    async def checkpoint(self) -> None:
        # Snapshot and the settle list are taken together, synchronously: every settle in the list belongs to
        # a message whose window change is already in memory, hence in this snapshot.
        snapshot, settles = self.store.snapshot(), self.pending
        self.pending = []
        loop = asyncio.get_running_loop()
        with self.metrics.checkpoint.time():
            try:
                await loop.run_in_executor(self.executor, self.store.write, snapshot)
            except Exception:
                log.exception("feature store checkpoint failed; retrying next interval, acks held back")
                self.store.requeue(snapshot)
                self.pending = settles + self.pending
                return
        for i, settle in enumerate(settles):
            try:
                await settle()
            except Exception as exc:  # an ack lost now means a redelivery, which is deduplicated
                log.debug("ack failed: %r", exc)
            if i % ACK_SLICE == ACK_SLICE - 1:
                await asyncio.sleep(0)  # let fetches and batches in between: a burst of acks is a latency spike

    async def run(self, interval_s: float, stopping: asyncio.Event) -> None:
        stopped = asyncio.ensure_future(stopping.wait())
        try:
            while not stopping.is_set():
                due = asyncio.ensure_future(self._due.wait())
                await asyncio.wait((stopped, due), timeout=interval_s, return_when=asyncio.FIRST_COMPLETED)
                due.cancel()
                self._due.clear()
                await self.checkpoint()
        finally:
            stopped.cancel()
