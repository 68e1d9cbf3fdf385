"""Partition leases: a partition is consumed by at most one process at a time, also while N changes.

When `partitions.replicas` changes, every replica drains and restarts with the new config and a new pod may start:
for a while the old owner of a partition (old config) and its new owner (new config) both run. Two processes
consuming one partition would split its keys' windows, so each partition has a lease, kept next to its changelog in
the zone's state stream (which keeps the last message per subject): `<state.subject>.p<p>.lease` holds

    {"holder": "<host>:<pid>", "store": "<feature store id>", "held": true|false, "ttl_ms": T}

Every write is a compare-and-set on the subject's last sequence (`Nats-Expected-Last-Subject-Sequence`), so of two
writers racing for one lease exactly one wins, and a holder whose renewal fails with "wrong last sequence" knows at
once that someone took its lease. No new stream, consumer or permission: the runtime user already publishes to the
state stream and reads it with ephemeral consumers (`runtime.changelog`).

The rules (`may_claim`, `fenced`, `trust_local` are pure; `PartitionLease` does the I/O):

- A lease may be claimed when it was never written, was released (`held: false`: the old owner drained, acked,
  flushed the partition's changelog, then released it), was last written by a process on this same feature store
  (it is gone: this process holds the DuckDB file's lock), or has not changed for its holder's `ttl_ms`, measured
  on this process's monotonic clock from when it first saw that version (clocks of two machines are never compared).
- The holder renews every `lease_renew_ms`. A holder whose last successful renewal was sent `ttl_ms / 2` ago or more
  is fenced: it fetches nothing more and writes no changelog, well before any other process may claim the lease
  (at least `ttl_ms` after that renewal was sent), and the service restarts in-process to claim it again.
- The new owner trusts its local DuckDB rows of the partition only when the lease's previous version was written
  from this same feature store (nobody else can have consumed the partition since); otherwise it drops them and
  restores the partition's windows from the changelog, replaying the input from its mark.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runtime.metrics import Metrics

log = logging.getLogger("edgeops.runtime.lease")

EXPECTED_LAST_SUBJECT_SEQ = "Nats-Expected-Last-Subject-Sequence"
WRONG_LAST_SEQUENCE = 10071  # JetStream's error code when that expectation fails
HOLDER = f"{socket.gethostname()}:{os.getpid()}"  # for logs: who holds or waits


@dataclass(frozen=True)
class LeaseRecord:
    holder: str
    store: str
    held: bool
    ttl_ms: int

    def encode(self) -> bytes:
        body = {"holder": self.holder, "store": self.store, "held": self.held, "ttl_ms": self.ttl_ms}
        return json.dumps(body, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, data: bytes) -> LeaseRecord | None:
        """The record, or None for anything else (then it is treated as held by an unknown process)."""
        try:
            body = json.loads(data)
            record = cls(str(body["holder"]), str(body["store"]), bool(body["held"]), int(body["ttl_ms"]))
        except (ValueError, TypeError, KeyError):
            return None
        return record if record.ttl_ms > 0 else None


@dataclass(frozen=True)
class Observed:
    """The lease's last version as read: its subject sequence (0: never written), its record, and when (monotonic
    seconds) this process first saw that sequence."""

    seq: int
    record: LeaseRecord | None
    since: float


def may_claim(observed: Observed, store: str, now: float, default_ttl_ms: int) -> bool:
    """Whether this process (on feature store `store`) may claim the lease now (see the module docstring)."""
    record = observed.record
    if observed.seq == 0:
        return True
    if record is None:  # unreadable: held by someone we cannot name, for our own TTL
        return now - observed.since >= default_ttl_ms / 1000
    if not record.held or record.store == store:
        return True
    return now - observed.since >= record.ttl_ms / 1000


def fenced(last_renewed: float, now: float, ttl_ms: int) -> bool:
    """Whether a holder whose last successful renewal was sent at `last_renewed` must stop using the partition."""
    return now - last_renewed >= ttl_ms / 2000


def trust_local(previous: Observed, store: str) -> bool:
    """Whether the local file's rows of the partition are current: nobody but this store wrote the lease last."""
    return previous.seq == 0 or (previous.record is not None and previous.record.store == store)


def store_id(feature_store: Path) -> str:
    """The feature store's id, kept beside its file (`<name>.id`): a new disk is a new store."""
    path = feature_store.with_name(feature_store.name + ".id")
    try:
        text = path.read_text(encoding="ascii").strip()
        if text:
            return text
    except (OSError, UnicodeDecodeError):
        pass
    text = uuid.uuid4().hex
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n", encoding="ascii")
    return text


async def read_last(js: Any, stream: str, subject: str) -> tuple[int, bytes]:
    """The last message on `subject` as (stream sequence, body); (0, b"") when there is none."""
    from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

    config = ConsumerConfig(
        deliver_policy=DeliverPolicy.LAST_PER_SUBJECT, ack_policy=AckPolicy.NONE, inactive_threshold=30.0
    )
    psub = await js.pull_subscribe(subject, stream=stream, config=config)
    try:
        if (await psub.consumer_info()).num_pending == 0:
            return 0, b""
        (msg,) = await psub.fetch(1, timeout=5)
        return int(msg.metadata.sequence.stream), bytes(msg.data)
    finally:
        await psub.unsubscribe()


class LeaseLostError(RuntimeError):
    """Another process wrote the lease: this one's renewal found a newer version."""


class PartitionLease:
    """One partition's lease for one process: `acquire`, then `keep` (renewals) until `release`."""

    def __init__(
        self, js: Any, stream: str, subject: str, *, unit: str, store: str, ttl_ms: int, renew_ms: int,
        metrics: Metrics | None = None,
    ) -> None:  # fmt: skip
        self.js = js
        self.stream = stream
        self.subject = subject
        self.unit = unit
        self.mine = LeaseRecord(HOLDER, store, True, ttl_ms)
        self.renew_s = renew_ms / 1000
        self.metrics = metrics
        self._timeout = max(ttl_ms / 4000, 0.5)  # a publish cannot outlast much of the lease
        self.seq = 0  # the version this process wrote last; 0 while not held
        self.last_renewed = 0.0  # monotonic time the last successful write was sent
        self.lost = False

    def valid(self) -> bool:
        """Held, and renewed recently enough to fetch and write the changelog; once fenced, never again (the
        service restarts to claim it anew, restoring what another process may have done meanwhile)."""
        if self.seq > 0 and not self.lost and fenced(self.last_renewed, time.monotonic(), self.mine.ttl_ms):
            self.lost = True
        return self.seq > 0 and not self.lost

    async def acquire(self, stopping: asyncio.Event) -> Observed | None:
        """Wait until the lease may be claimed and claim it; returns the version it replaced (for `trust_local`),
        or None when stopping first."""
        observed: Observed | None = None
        waiting_since = time.monotonic()
        logged: str | None = None  # the holder last named in the log (each renewal is a new version)
        while not stopping.is_set():
            try:
                seq, data = await read_last(self.js, self.stream, self.subject)
            except Exception as exc:  # NATS away, or the state stream not created yet
                log.warning("%s: lease %s not readable (%r); retrying", self.unit, self.subject, exc)
                await _wait(stopping, self.renew_s)
                continue
            now = time.monotonic()
            if observed is None or observed.seq != seq:
                observed = Observed(seq, LeaseRecord.decode(data) if seq else None, now)
            if may_claim(observed, self.mine.store, now, self.mine.ttl_ms):
                try:
                    claimed = await self._write(self.mine, expect=seq)
                except Exception as exc:
                    log.warning("%s: lease claim failed (%r); retrying", self.unit, exc)
                    await _wait(stopping, self.renew_s)
                    continue
                if claimed:
                    self._acquired(observed, now - waiting_since)
                    return observed
                continue  # someone else wrote it meanwhile: read again
            holder = observed.record.holder if observed.record is not None else "an unreadable record"
            if logged != holder:
                logged = holder
                ttl = observed.record.ttl_ms if observed.record is not None else self.mine.ttl_ms
                log.info("%s: waiting for the partition's lease, held by %s (taken over if it is not renewed "
                         "for %.1fs)", self.unit, holder, ttl / 1000)  # fmt: skip
            self._gauge("lease_waiting", 1)
            await _wait(stopping, self.renew_s)
        self._gauge("lease_waiting", 0)
        return None

    def _acquired(self, previous: Observed, waited_s: float) -> None:
        record = previous.record
        if previous.seq == 0:
            how = "new"
        elif record is None or (record.held and record.store != self.mine.store):
            how = "expired"
        elif not record.held:
            how = "released"
        else:
            how = "restarted"  # a process on this store, now gone
        by = f" from {record.holder}" if record is not None else ""
        log.info("%s: partition lease acquired (%s%s) after %.1fs", self.unit, how, by, waited_s)
        if self.metrics is not None:
            self.metrics.lease_acquired.labels(self.unit, how).inc()
            self.metrics.lease_wait.labels(self.unit).observe(waited_s)
        self._gauge("lease_waiting", 0)
        self._gauge("lease_held", 1)

    async def keep(self, done: asyncio.Event, on_lost: Callable[[], None]) -> None:
        """Renew every `lease_renew_ms` until `done` (the drain is over: release follows); calls `on_lost` once when
        fenced or taken over."""
        while not done.is_set():
            await _wait(done, self.renew_s)
            if done.is_set():
                break
            if self.valid():
                try:
                    if not await self._write(self.mine, expect=self.seq) and not await self._wrote_it_anyway():
                        raise LeaseLostError(f"{self.subject} was written by another process")
                except LeaseLostError as exc:
                    self.lost = True
                    log.error("%s: partition lease lost (%s): stopping it", self.unit, exc)
                except Exception as exc:  # NATS away: fenced once this lasts half the TTL
                    log.warning("%s: lease renewal failed (%r)", self.unit, exc)
            if not self.valid():
                log.error("%s: partition lease given up (last renewed %.1fs ago, or taken): stopping it", self.unit,
                          time.monotonic() - self.last_renewed)  # fmt: skip
                if self.metrics is not None:
                    self.metrics.lease_lost.labels(self.unit).inc()
                self._gauge("lease_held", 0)
                on_lost()
                return

    async def _wrote_it_anyway(self) -> bool:
        """After a failed compare-and-set: whether the newer version is this process's own (a renewal whose ack
        was lost); then it is adopted."""
        seq, data = await read_last(self.js, self.stream, self.subject)
        if seq == 0 or LeaseRecord.decode(data) != self.mine:
            return False
        self.seq = seq  # its send time is unknown: the renewal before it stays the one that counts
        return True

    async def release(self) -> None:
        """Mark the lease released (after the drain and the last changelog flush); only while still valid."""
        if not self.valid():
            return
        try:
            released = await self._write(LeaseRecord(HOLDER, self.mine.store, False, self.mine.ttl_ms), self.seq)
        except Exception as exc:  # it expires instead, or this store claims it back at once
            log.warning("%s: lease release failed (%r)", self.unit, exc)
        else:
            if released:
                log.info("%s: partition lease released", self.unit)
            else:
                log.warning("%s: lease not released: another process wrote it", self.unit)
        self.seq = 0
        self._gauge("lease_held", 0)

    async def _write(self, record: LeaseRecord, expect: int) -> bool:
        """Compare-and-set: False when the lease's last version is not `expect` any more."""
        from nats.js.errors import APIError

        sent = time.monotonic()
        try:
            ack = await self.js.publish(self.subject, record.encode(), stream=self.stream, timeout=self._timeout,
                                        headers={EXPECTED_LAST_SUBJECT_SEQ: str(expect)})  # fmt: skip
        except APIError as exc:
            if exc.err_code == WRONG_LAST_SEQUENCE:
                return False
            raise
        self.seq, self.last_renewed = int(ack.seq), sent
        return True

    def _gauge(self, name: str, value: int) -> None:
        if self.metrics is not None:
            getattr(self.metrics, name).labels(self.unit).set(value)


async def _wait(stopping: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stopping.wait(), seconds)
