"""The feature store: per-key windows in memory, checkpointed to DuckDB in batches, restored on start.

The hot path touches only Python lists (no DuckDB per message). Each window row carries the sequence number
of the record that produced it (the JetStream stream sequence), which makes applying a record idempotent and
order-independent: a redelivered record already in the window changes nothing and sees the window as it was
when it was first applied; a late record is slotted in by sequence. That is what lets a restarted runtime
rebuild exactly the windows of an uninterrupted run (see `runtime.nats_source` for the ack protocol).

Persistence is an append-only log of applied rows, `window_rows(deployment, key, seq, vals)`: a checkpoint
appends the rows applied since the last one as one Arrow batch and, in the same transaction, deletes evicted keys
and the rows that slid out of the touched keys' windows (its cost follows the message rate, not the number of
keys). Restore keeps, per key, the newest `size` rows by sequence.

Memory is bounded by `max_keys` per deployment with least-recently-used eviction; an evicted key's rows are
deleted at the next checkpoint, so the file stays bounded too.
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
CREATE TABLE IF NOT EXISTS window_rows (
    deployment VARCHAR NOT NULL,
    key VARCHAR NOT NULL,
    seq UBIGINT NOT NULL,
    vals DOUBLE[] NOT NULL
)
"""


@dataclass
class Window:
    size: int
    seqs: list[int] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)

    def apply(self, seq: int | None, row: Row) -> tuple[list[Row], int | None]:
        """Add the record (unless present); returns the window as of it and the sequence it was stored
        under (None when nothing changed).

        `seq=None` appends after the newest row (sources without a sequence, e.g. MQTT)."""
        if seq is None:
            seq = self.seqs[-1] + 1 if self.seqs else 1
        if not self.seqs or seq > self.seqs[-1]:
            self.seqs.append(seq)
            self.rows.append(row)
            if len(self.seqs) > self.size:
                del self.seqs[0], self.rows[0]
            return self.rows, seq
        at = bisect.bisect_left(self.seqs, seq)
        if at < len(self.seqs) and self.seqs[at] == seq:
            return self.rows[: at + 1], None  # a redelivery: already applied
        if len(self.seqs) >= self.size and at == 0:
            return [row], None  # older than everything kept: too late to matter for later records
        self.seqs.insert(at, seq)
        self.rows.insert(at, row)
        if len(self.seqs) > self.size:
            del self.seqs[0], self.rows[0]
            at -= 1
        return self.rows[: at + 1], seq

    def peek(self, row: Row) -> list[Row]:
        """The window a new record would see, without changing it (synthetic traffic)."""
        return [*self.rows[-(self.size - 1) :], row] if self.size > 1 else [row]


@dataclass
class Snapshot:
    rows: list[tuple[str, str, int, Row]]  # (deployment, key, seq, values) applied since the last one
    evicted: list[tuple[str, str]]
    floors: list[tuple[str, str, int]] = field(default_factory=list)  # (deployment, key, oldest seq kept)


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

    def get(self, key: str) -> Window:
        window = self.windows.get(key)
        if window is None:
            window = self.windows[key] = Window(self.size)
            while len(self.windows) > self.max_keys:
                old, _ = self.windows.popitem(last=False)
                self.evicted.add(old)
        else:
            self.windows.move_to_end(key)
        return window

    def apply(self, key: str, seq: int | None, row: Row) -> list[Row]:
        window = self.get(key)
        rows, stored = window.apply(seq, row)
        if stored is not None:
            self.log.append((key, window, stored, row))
        return rows

    def recent(self) -> Iterator[tuple[str, Window]]:
        return reversed(self.windows.items())


class FeatureStore:
    """All deployments' windows; checkpoint with `snapshot()` (in the event loop) then `write()` (one thread)."""

    def __init__(self, path: Path, max_keys: int) -> None:
        self.path = path
        self.max_keys = max_keys
        self.deployments: dict[str, DeploymentWindows] = {}
        path.parent.mkdir(parents=True, exist_ok=True)
        # One DuckDB thread: checkpoints are small, and more threads would compete with the event loop.
        self._db = duckdb.connect(str(path), config={"threads": 1})
        self._db.execute(_SCHEMA)

    def deployment(self, deployment: str, size: int) -> DeploymentWindows:
        existing = self.deployments.get(deployment)
        if existing is not None:
            return existing
        windows = self.deployments[deployment] = DeploymentWindows(deployment, size, self.max_keys)
        self._restore(windows)
        return windows

    def _restore(self, windows: DeploymentWindows) -> None:
        # Newest keys last, so the LRU order after a restart follows recency (highest sequence).
        table = self._db.sql(
            """
            WITH ranked AS (
                SELECT key, seq, vals,
                       row_number() OVER (PARTITION BY key ORDER BY seq DESC) AS age,
                       max(seq) OVER (PARTITION BY key) AS newest
                FROM window_rows WHERE deployment = $deployment
            ), keep AS (
                SELECT key FROM ranked WHERE age = 1 ORDER BY newest DESC LIMIT $max_keys
            )
            SELECT r.key, list(r.seq ORDER BY r.seq) AS seqs, list(r.vals ORDER BY r.seq) AS vals,
                   max(r.newest) AS newest
            FROM ranked r JOIN keep USING (key) WHERE r.age <= $size
            GROUP BY r.key ORDER BY newest, r.key
            """,
            params={"deployment": windows.deployment, "max_keys": self.max_keys, "size": windows.size},
        ).to_arrow_table()
        keys, seqs, vals = (table.column(n).to_pylist() for n in ("key", "seqs", "vals"))
        for key, key_seqs, key_vals in zip(keys, seqs, vals, strict=True):
            windows.windows[key] = Window(windows.size, list(key_seqs), [tuple(v) for v in key_vals])

    def snapshot(self) -> Snapshot:
        """Take the rows applied since the last snapshot and, for the keys they touched, the oldest sequence
        still in the window (older rows can go); cheap and synchronous, so it is consistent with the acks
        collected at the same moment."""
        rows: list[tuple[str, str, int, Row]] = []
        floors: list[tuple[str, str, int]] = []
        evicted: list[tuple[str, str]] = []
        for windows in self.deployments.values():
            live = windows.windows
            touched: dict[str, Window] = {}
            for key, window, seq, row in windows.log:
                if live.get(key) is window:
                    rows.append((windows.deployment, key, seq, row))
                    touched[key] = window
            floors.extend((windows.deployment, k, w.seqs[0]) for k, w in touched.items() if len(w.seqs) >= w.size)
            windows.log = []
            evicted.extend((windows.deployment, key) for key in windows.evicted)
            windows.evicted.clear()
        return Snapshot(rows, evicted, floors)

    def write(self, snapshot: Snapshot) -> None:
        if not snapshot.rows and not snapshot.evicted:
            return
        deployments, keys, seqs, vals = (
            (list(c) for c in zip(*snapshot.rows, strict=True)) if snapshot.rows else ([], [], [], [])
        )
        batch = pa.table(
            {
                "deployment": pa.array(deployments, pa.string()),
                "key": pa.array(keys, pa.string()),
                "seq": pa.array(seqs, pa.uint64()),
                "vals": pa.array(vals, pa.list_(pa.float64())),
            }
        )
        gone = pa.table(
            {
                "deployment": pa.array([d for d, _ in snapshot.evicted], pa.string()),
                "key": pa.array([k for _, k in snapshot.evicted], pa.string()),
            }
        )
        floors = pa.table(
            {
                "deployment": pa.array([d for d, _, _ in snapshot.floors], pa.string()),
                "key": pa.array([k for _, k, _ in snapshot.floors], pa.string()),
                "seq": pa.array([q for _, _, q in snapshot.floors], pa.uint64()),
            }
        )
        db = self._db
        db.register("checkpoint_batch", batch)
        db.register("checkpoint_gone", gone)
        db.register("checkpoint_floors", floors)
        try:
            db.execute("BEGIN")
            if snapshot.evicted:  # before the insert: a re-added key's new rows must survive
                db.execute(
                    "DELETE FROM window_rows w USING checkpoint_gone g "
                    "WHERE w.deployment = g.deployment AND w.key = g.key"
                )
            db.execute("INSERT INTO window_rows SELECT deployment, key, seq, vals FROM checkpoint_batch")
            if snapshot.floors:  # rows that slid out of a full window: the file stays at about keys x size
                db.execute(
                    "DELETE FROM window_rows w USING checkpoint_floors f "
                    "WHERE w.deployment = f.deployment AND w.key = f.key AND w.seq < f.seq"
                )
            db.execute("COMMIT")
        except Exception:
            db.execute("ROLLBACK")
            raise
        finally:
            for name in ("checkpoint_batch", "checkpoint_gone", "checkpoint_floors"):
                db.unregister(name)

    def requeue(self, snapshot: Snapshot) -> None:
        """After a failed write, put the snapshot back so the next checkpoint retries it."""
        for name, windows in self.deployments.items():
            mine = [(k, windows.windows[k], q, r) for d, k, q, r in snapshot.rows if d == name and k in windows.windows]
            windows.log[:0] = mine
            windows.evicted.update(k for d, k in snapshot.evicted if d == name)

    def window_count(self) -> int:
        return sum(len(w.windows) for w in self.deployments.values())

    def close(self) -> None:
        self._db.close()
