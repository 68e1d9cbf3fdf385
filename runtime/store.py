"""The feature store: per-key windows in memory, checkpointed to DuckDB in batches, restored on start.

The hot path touches only Python lists (no DuckDB per message). Each window row carries the sequence number
of the record that produced it (the JetStream stream sequence), which makes applying a record idempotent and
order-independent: a redelivered record already in the window changes nothing and sees the window as it was
when it was first applied; a late record is slotted in by sequence. That is what lets a restarted runtime
rebuild exactly the windows of an uninterrupted run (see `runtime.nats_source` for the ack protocol).

Memory is bounded by `max_keys` per deployment with least-recently-used eviction; an evicted key is deleted
from DuckDB at the next checkpoint, so the file stays bounded too.

Persistence: one row per (deployment, key) with the sequence numbers and the row-major values as lists,
written with an Arrow batch (DELETE the touched keys, INSERT the new state) inside one transaction.
"""

from __future__ import annotations

import bisect
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from runtime.features import Row

_SCHEMA = """
CREATE TABLE IF NOT EXISTS windows (
    deployment VARCHAR NOT NULL,
    key VARCHAR NOT NULL,
    touched UBIGINT NOT NULL,
    seqs UBIGINT[] NOT NULL,
    vals DOUBLE[] NOT NULL,
    PRIMARY KEY (deployment, key)
)
"""


@dataclass
class Window:
    size: int
    seqs: list[int] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)

    def apply(self, seq: int | None, row: Row) -> tuple[list[Row], bool]:
        """Add the record (unless present) and return (the window as of it, whether the window changed).

        `seq=None` appends after the newest row (sources without a sequence, e.g. MQTT)."""
        if seq is None:
            seq = self.seqs[-1] + 1 if self.seqs else 1
        if not self.seqs or seq > self.seqs[-1]:
            self.seqs.append(seq)
            self.rows.append(row)
            if len(self.seqs) > self.size:
                del self.seqs[0], self.rows[0]
            return self.rows, True
        at = bisect.bisect_left(self.seqs, seq)
        if at < len(self.seqs) and self.seqs[at] == seq:
            return self.rows[: at + 1], False  # a redelivery: already applied
        if len(self.seqs) >= self.size and at == 0:
            return [row], False  # older than everything kept: too late to matter for later records
        self.seqs.insert(at, seq)
        self.rows.insert(at, row)
        if len(self.seqs) > self.size:
            del self.seqs[0], self.rows[0]
            at -= 1
        return self.rows[: at + 1], True

    def peek(self, row: Row) -> list[Row]:
        """The window a new record would see, without changing it (synthetic traffic)."""
        return [*self.rows[-(self.size - 1) :], row] if self.size > 1 else [row]


@dataclass
class Snapshot:
    rows: list[tuple[str, str, int, list[int], list[float]]]
    evicted: list[tuple[str, str]]


class DeploymentWindows:
    def __init__(self, deployment: str, size: int, max_keys: int) -> None:
        self.deployment = deployment
        self.size = size
        self.max_keys = max_keys
        self.windows: OrderedDict[str, Window] = OrderedDict()
        self.dirty: set[str] = set()
        self.evicted: set[str] = set()

    def get(self, key: str) -> Window:
        window = self.windows.get(key)
        if window is None:
            window = self.windows[key] = Window(self.size)
            self.evicted.discard(key)
            while len(self.windows) > self.max_keys:
                old, _ = self.windows.popitem(last=False)
                self.dirty.discard(old)
                self.evicted.add(old)
        else:
            self.windows.move_to_end(key)
        return window

    def apply(self, key: str, seq: int | None, row: Row) -> list[Row]:
        window = self.get(key)
        rows, changed = window.apply(seq, row)
        if changed:
            self.dirty.add(key)
        return rows

    def recent(self) -> Iterator[tuple[str, Window]]:
        return reversed(self.windows.items())


class FeatureStore:
    """All deployments' windows; checkpoint with `snapshot()` (in the event loop) then `write()` (any thread)."""

    def __init__(self, path: Path, max_keys: int) -> None:
        self.path = path
        self.max_keys = max_keys
        self.deployments: dict[str, DeploymentWindows] = {}
        self._touched = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = duckdb.connect(str(path))
        self._db.execute(_SCHEMA)
        ((touched,),) = self._db.execute("SELECT coalesce(max(touched), 0) FROM windows").fetchall()
        self._touched = int(touched)

    def deployment(self, deployment: str, size: int) -> DeploymentWindows:
        existing = self.deployments.get(deployment)
        if existing is not None:
            return existing
        windows = self.deployments[deployment] = DeploymentWindows(deployment, size, self.max_keys)
        self._restore(windows)
        return windows

    def _restore(self, windows: DeploymentWindows) -> None:
        table = self._db.sql(
            "SELECT key, seqs, vals FROM windows WHERE deployment = ? ORDER BY touched DESC, key LIMIT ?",
            params=[windows.deployment, self.max_keys],
        ).to_arrow_table()
        keys, seqs, vals = (table.column(n).to_pylist() for n in ("key", "seqs", "vals"))
        for key, key_seqs, flat in reversed(list(zip(keys, seqs, vals, strict=True))):
            width = len(flat) // len(key_seqs) if key_seqs else 0
            rows = [tuple(flat[i * width : (i + 1) * width]) for i in range(len(key_seqs))]
            window = Window(windows.size, list(key_seqs)[-windows.size :], rows[-windows.size :])
            windows.windows[key] = window

    def snapshot(self) -> Snapshot:
        """Copy every changed window; cheap, synchronous, so it is consistent with what has been acked."""
        self._touched += 1
        rows: list[tuple[str, str, int, list[int], list[float]]] = []
        evicted: list[tuple[str, str]] = []
        for name, windows in self.deployments.items():
            for key in windows.dirty:
                window = windows.windows[key]
                flat = [v for row in window.rows for v in row]
                rows.append((name, key, self._touched, list(window.seqs), flat))
            evicted.extend((name, key) for key in windows.evicted)
            windows.dirty.clear()
            windows.evicted.clear()
        return Snapshot(rows, evicted)

    def write(self, snapshot: Snapshot) -> None:
        if not snapshot.rows and not snapshot.evicted:
            return
        columns: list[tuple[object, ...]] = (
            list(zip(*snapshot.rows, strict=True)) if snapshot.rows else [(), (), (), (), ()]
        )
        batch = pa.table(
            {
                "deployment": pa.array(columns[0], pa.string()),
                "key": pa.array(columns[1], pa.string()),
                "touched": pa.array(columns[2], pa.uint64()),
                "seqs": pa.array(columns[3], pa.list_(pa.uint64())),
                "vals": pa.array(columns[4], pa.list_(pa.float64())),
            }
        )
        gone = pa.table(
            {
                "deployment": pa.array([d for d, _ in snapshot.evicted], pa.string()),
                "key": pa.array([k for _, k in snapshot.evicted], pa.string()),
            }
        )
        db = self._db
        db.register("checkpoint_batch", batch)
        db.register("checkpoint_gone", gone)
        try:
            db.execute("BEGIN")
            db.execute(
                "DELETE FROM windows w USING (SELECT deployment, key FROM checkpoint_batch UNION ALL "
                "SELECT deployment, key FROM checkpoint_gone) d WHERE w.deployment = d.deployment AND w.key = d.key"
            )
            db.execute("INSERT INTO windows SELECT deployment, key, touched, seqs, vals FROM checkpoint_batch")
            db.execute("COMMIT")
        except Exception:
            db.execute("ROLLBACK")
            raise
        finally:
            db.unregister("checkpoint_batch")
            db.unregister("checkpoint_gone")

    def requeue(self, snapshot: Snapshot) -> None:
        """After a failed write, mark the snapshot's keys dirty again so the next checkpoint retries them."""
        for name, key, *_ in snapshot.rows:
            windows = self.deployments.get(name)
            if windows is not None and key in windows.windows:
                windows.dirty.add(key)
        for name, key in snapshot.evicted:
            windows = self.deployments.get(name)
            if windows is not None and key not in windows.windows:
                windows.evicted.add(key)

    def close(self) -> None:
        self._db.close()
