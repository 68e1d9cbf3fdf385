"""Per-key windows in memory: the pure part of the feature store (no I/O, no clocks).

The hot path touches only Python lists. Each window row carries the sequence number of the record that produced
it (the JetStream stream sequence), which makes applying a record idempotent and order-independent: a
redelivered record already in the window changes nothing and sees the window as it was when it was first
applied; a late record is slotted in by sequence. That is what lets a restarted runtime rebuild exactly the
windows of an uninterrupted run (see `runtime.sources.jetstream` for the ack protocol).

"As it was when first applied" needs the rows before it, which newer records of the same key may already have
pushed out of the window. So a record is *held* from the moment it is applied until its result is confirmed by
JetStream (`DeploymentWindows.hold` / `release`; after that a re-scored copy is dropped as a duplicate), and a
window keeps every row that a held record's window contains: rows leave the front only once every record whose
window they are in is below the deployment's low-water mark (its lowest held sequence). Checkpoints store that
mark (or an older, lower one: see `FeatureStore._marks_due`), and a restore keeps those rows too, so a record
redelivered after a crash or a NATS restart is scored over the same window, not a truncated one. The extra rows
are bounded by the records in flight (a few batches); `RETAIN_FACTOR` caps them should a record never be
confirmed.

Memory is bounded by `max_keys` per deployment with least-recently-used eviction; an evicted key's rows are
deleted at the next checkpoint, so the file stays bounded too.
"""

from __future__ import annotations

import bisect
import heapq
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the writer process needs only DuckDB and Arrow
    from runtime.features import Row

RETAIN_FACTOR = 8  # a window never keeps more than RETAIN_FACTOR x size rows, held records or not


@dataclass
class Window:
    size: int
    seqs: list[int] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)

    def apply(self, seq: int | None, row: Row, keep_from: int | None = None) -> tuple[list[Row], int | None]:
        """Add the record (unless present); returns the window as of it (at most `size` rows, itself last) and
        the sequence it was stored under (None when nothing changed).

        `seq=None` appends after the newest row (sources without a sequence, e.g. MQTT). `keep_from` is the
        low-water mark: rows in the window of a record at or above it are kept (see the module docstring)."""
        seqs = self.seqs
        if seq is None:
            seq = seqs[-1] + 1 if seqs else 1
        if not seqs or seq > seqs[-1]:
            seqs.append(seq)
            self.rows.append(row)
            if len(seqs) <= self.size:
                return self.rows, seq  # the hot path: a window that has not filled up yet, or just did
            at = len(seqs) - 1
        else:
            at = bisect.bisect_left(seqs, seq)
            if at < len(seqs) and seqs[at] == seq:
                return self._as_of(at), None  # a redelivery: already applied
            if len(seqs) >= self.size and at == 0:
                return [row], None  # older than everything kept: too late to matter for later records
            seqs.insert(at, seq)
            self.rows.insert(at, row)
        at -= self._trim(keep_from)
        return (self._as_of(at) if at >= 0 else [row]), seq

    def _as_of(self, at: int) -> list[Row]:
        start = at + 1 - self.size
        return self.rows[max(start, 0) : at + 1]

    def _trim(self, keep_from: int | None) -> int:
        """Drop rows beyond the newest `size` that no held record's window contains; returns how many."""
        seqs, size = self.seqs, self.size
        surplus = len(seqs) - size
        drop = 0
        while drop < surplus and (
            keep_from is None
            or seqs[drop + size - 1] < keep_from  # every record whose window holds this row is confirmed
            or len(seqs) - drop > size * RETAIN_FACTOR
        ):
            drop += 1
        if drop:
            del seqs[:drop], self.rows[:drop]
        return drop

    def current(self) -> list[Row]:
        """The window of the newest record."""
        return self.rows[-self.size :]

    def peek(self, row: Row) -> list[Row]:
        """The window a new record would see, without changing it (synthetic traffic)."""
        return [*self.rows[-(self.size - 1) :], row] if self.size > 1 else [row]


class DeploymentWindows:
    def __init__(self, deployment: str, size: int, max_keys: int) -> None:
        self.deployment = deployment
        self.size = size
        self.max_keys = max_keys
        self.windows: OrderedDict[str, Window] = OrderedDict()
        # (key, the window incarnation it went into, seq, values): rows of a key evicted before the checkpoint
        # belong to a dead incarnation and are dropped, so a re-added key starts clean in DuckDB too.
        self.log: list[tuple[str, Window, int, Row]] = []
        self.evicted: set[str] = set()
        self._held: set[int] = set()  # applied records whose result JetStream has not confirmed yet
        self._held_heap: list[int] = []  # the same sequences (and released ones, dropped lazily), smallest first
        self.newest = 0  # the highest sequence applied so far
        # Keys applied to or evicted since the last changelog flush; None while no changelog is attached.
        self.changed: set[str] | None = None

    def hold(self, seq: int) -> None:
        """Keep the rows of this record's window until `release(seq)`; call before applying it."""
        if seq not in self._held:
            self._held.add(seq)
            heapq.heappush(self._held_heap, seq)

    def release(self, seq: int) -> None:
        """The record's result is confirmed: a redelivery can no longer publish a different one."""
        self._held.discard(seq)

    def low_water(self) -> int | None:
        """The lowest held sequence, or None when nothing is held."""
        heap = self._held_heap
        while heap and heap[0] not in self._held:
            heapq.heappop(heap)
        return heap[0] if heap else None

    def replay_mark(self) -> int:
        """The lowest sequence a rebuild of these windows must re-apply from the input stream: every record below
        it was applied and its result confirmed (the low-water mark), or, with nothing held, every record applied
        so far (the JetStream consumer delivers in stream order, and a batch joins its windows in one step)."""
        low = self.low_water()
        return low if low is not None else self.newest + 1

    def get(self, key: str) -> Window:
        window = self.windows.get(key)
        if window is None:
            window = self.windows[key] = Window(self.size)
            while len(self.windows) > self.max_keys:
                old, _ = self.windows.popitem(last=False)
                self.evicted.add(old)
                if self.changed is not None:
                    self.changed.add(old)
        else:
            self.windows.move_to_end(key)
        return window

    def apply(self, key: str, seq: int | None, row: Row) -> list[Row]:
        window = self.get(key)
        rows, stored = window.apply(seq, row, self.low_water())
        if stored is not None:
            self.log.append((key, window, stored, row))
            if self.changed is not None:
                self.changed.add(key)
            self.newest = max(self.newest, stored)
        return rows

    def recent(self) -> Iterator[tuple[str, Window]]:
        return reversed(self.windows.items())
