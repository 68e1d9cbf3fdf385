"""The feature store: per-key windows in memory, checkpointed to DuckDB in batches, restored on start.

The hot path touches only Python lists (no DuckDB per message). Each window row carries the sequence number
of the record that produced it (the JetStream stream sequence), which makes applying a record idempotent and
order-independent: a redelivered record already in the window changes nothing and sees the window as it was
when it was first applied; a late record is slotted in by sequence. That is what lets a restarted runtime
rebuild exactly the windows of an uninterrupted run (see `runtime.nats_source` for the ack protocol).

"As it was when first applied" needs the rows before it, which newer records of the same key may already have
pushed out of the window. So a record is *held* from the moment it is applied until its result is confirmed by
JetStream (`DeploymentWindows.hold` / `release`; after that a re-scored copy is dropped as a duplicate), and a
window keeps every row that a held record's window contains: rows leave the front only once every record whose
window they are in is below the deployment's low-water mark (its lowest held sequence). Checkpoints store that
mark (or an older, lower one: see `FeatureStore._marks_due`), and a restore keeps those rows too, so a record redelivered after a crash or a NATS restart is scored
over the same window, not a truncated one. The extra rows are bounded by the records in flight (a few batches);
`RETAIN_FACTOR` caps them should a record never be confirmed.

Persistence is an append-only log of applied rows, `window_rows(deployment, key, seq, vals)`: a checkpoint
appends the rows applied since the last one as one Arrow batch and, in the same transaction, deletes evicted keys
and the rows that slid out of the touched keys' windows (its cost follows the message rate, not the number of
keys). Restore keeps, per key, the newest `size` rows by sequence.

Memory is bounded by `max_keys` per deployment with least-recently-used eviction; an evicted key's rows are
deleted at the next checkpoint, so the file stays bounded too.

The service hands the DuckDB file to a writer process once the windows are restored
(`FeatureStore.hand_over_writes`): DuckDB keeps the GIL while it binds and plans a statement (and while it scans
a registered Arrow table), about 3 ms per checkpoint, which a writer thread would take from the event loop
every interval. The writer process has its own interpreter; what stays here is pickling the snapshot (in the
store's thread) and waiting on a pipe, which releases the GIL.
"""

from __future__ import annotations

import bisect
import contextlib
import dataclasses
import heapq
import os
import pickle
import signal
import struct
import subprocess
import sys
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

if TYPE_CHECKING:  # the writer process needs only DuckDB and Arrow
    from runtime.features import Row

_SCHEMA = """
CREATE TABLE IF NOT EXISTS window_rows (
    deployment VARCHAR NOT NULL,
    key VARCHAR NOT NULL,
    seq UBIGINT NOT NULL,
    vals DOUBLE[] NOT NULL
);
CREATE TABLE IF NOT EXISTS window_marks (
    deployment VARCHAR PRIMARY KEY,
    low_water UBIGINT  -- lowest sequence whose result was not yet confirmed at the checkpoint; NULL: none
)
"""

RETAIN_FACTOR = 8  # a window never keeps more than RETAIN_FACTOR x size rows, held records or not
MARK_REFRESH_WRITES = 20  # a risen low-water mark is stored with every 20th checkpoint (see FeatureStore._marks_due)


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


@dataclass
class Snapshot:
    rows: list[tuple[str, str, int, Row]]  # (deployment, key, seq, values) applied since the last one
    evicted: list[tuple[str, str]]
    floors: list[tuple[str, str, int]] = field(default_factory=list)  # (deployment, key, oldest seq kept)
    marks: dict[str, int | None] = field(default_factory=dict)  # deployment -> low-water mark (None: nothing held)


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
        rows, stored = window.apply(seq, row, self.low_water())
        if stored is not None:
            self.log.append((key, window, stored, row))
        return rows

    def recent(self) -> Iterator[tuple[str, Window]]:
        return reversed(self.windows.items())


class FeatureStore:
    """All deployments' windows; checkpoint with `snapshot()` (in the event loop) then `write()` (one thread).

    `hand_over_writes()` moves the DuckDB connection into a writer process; after it, `write()` sends the
    snapshot there and returns once it is committed (or raises), and no further deployment can be restored."""

    def __init__(self, path: Path, max_keys: int) -> None:
        self.path = path
        self.max_keys = max_keys
        self.deployments: dict[str, DeploymentWindows] = {}
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = _connect(path)
        self._writer: WriterProcess | None = None
        self._marks_written: dict[str, int | None] = {}
        self._writes_since_marks = 0

    def deployment(self, deployment: str, size: int) -> DeploymentWindows:
        existing = self.deployments.get(deployment)
        if existing is not None:
            return existing
        if self._writer is not None:
            raise RuntimeError(f"feature store: {deployment} added after the writes were handed over")
        windows = self.deployments[deployment] = DeploymentWindows(deployment, size, self.max_keys)
        self._restore(windows)
        return windows

    def hand_over_writes(self) -> None:
        """Close this process's DuckDB connection and let a writer process do every later `write()`."""
        if self._writer is None:
            self._db.close()
            self._writer = WriterProcess(self.path)

    def _restore(self, windows: DeploymentWindows) -> None:
        # Per key the newest `size` rows, or more where records at or above the stored low-water mark (held at
        # the checkpoint, so possibly redelivered now) need older rows in their windows. Newest keys last, so
        # the LRU order after a restart follows recency (highest sequence).
        table = self._db.sql(
            """
            WITH mark AS (
                SELECT low_water FROM window_marks WHERE deployment = $deployment
            ), ranked AS (
                SELECT key, seq, vals,
                       row_number() OVER (PARTITION BY key ORDER BY seq DESC) AS age,
                       max(seq) OVER (PARTITION BY key) AS newest,
                       count(*) FILTER (WHERE seq >= (SELECT low_water FROM mark)) OVER (PARTITION BY key) AS held
                FROM window_rows WHERE deployment = $deployment
            ), keep AS (
                SELECT key FROM ranked WHERE age = 1 ORDER BY newest DESC LIMIT $max_keys
            )
            SELECT r.key, list(r.seq ORDER BY r.seq) AS seqs, list(r.vals ORDER BY r.seq) AS vals,
                   max(r.newest) AS newest
            FROM ranked r JOIN keep USING (key) WHERE r.age <= greatest($size, r.held + $size - 1)
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
        marks = {name: windows.low_water() for name, windows in self.deployments.items()}
        return Snapshot(rows, evicted, floors, marks)

    def write(self, snapshot: Snapshot) -> None:
        marks_due = self._marks_due(snapshot.marks)
        if not snapshot.rows and not snapshot.evicted and not marks_due:
            return
        if not marks_due:
            snapshot = dataclasses.replace(snapshot, marks={})
        if self._writer is not None:
            self._writer.write(snapshot)
        else:
            write_snapshot(self._db, snapshot)
        if marks_due:
            self._marks_written = snapshot.marks
            self._writes_since_marks = 0
        else:
            self._writes_since_marks += 1

    def _marks_due(self, marks: dict[str, int | None]) -> bool:
        """Whether this checkpoint must store the low-water marks (an upsert costs the writer ~2 ms).

        A stored mark only has to be at or below the true one: a restore then keeps a few more rows than needed,
        never fewer. So a mark that rose is refreshed only every MARK_REFRESH_WRITES checkpoints; one that fell,
        or went from "nothing held" to held or back (the last checkpoint of a drain), is stored at once."""
        if marks == self._marks_written:
            return False
        if self._writes_since_marks + 1 >= MARK_REFRESH_WRITES:
            return True
        for name, mark in marks.items():
            stored = self._marks_written.get(name, -1)  # -1: never stored
            if stored == mark:
                continue
            if stored == -1 or mark is None or stored is None or mark < stored:
                return True
        return False

    def requeue(self, snapshot: Snapshot) -> None:
        """After a failed write, put the snapshot back so the next checkpoint retries it."""
        for name, windows in self.deployments.items():
            mine = [(k, windows.windows[k], q, r) for d, k, q, r in snapshot.rows if d == name and k in windows.windows]
            windows.log[:0] = mine
            windows.evicted.update(k for d, k in snapshot.evicted if d == name)

    def window_count(self) -> int:
        return sum(len(w.windows) for w in self.deployments.values())

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        else:
            self._db.close()


def _connect(path: Path, lock_wait_s: float = 10.0) -> duckdb.DuckDBPyConnection:
    # One DuckDB thread: checkpoints are small, and more threads would compete with the event loop.
    deadline = time.monotonic() + lock_wait_s
    while True:
        try:
            db = duckdb.connect(str(path), config={"threads": 1})
            break
        except duckdb.IOException as exc:
            # A writer process whose runtime died finishes its write and exits at once; wait for its lock.
            if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    db.execute(_SCHEMA)
    return db


def write_snapshot(db: duckdb.DuckDBPyConnection, snapshot: Snapshot) -> None:
    """One checkpoint in one transaction: evicted keys' rows go, the new rows go in, rows that slid out go.

    Only the tables a checkpoint needs are registered, and its statements run as one `execute` (each call and
    each registration costs DuckDB's Python layer a few hundred microseconds, more than 50 rows of work)."""
    tables: dict[str, pa.Table] = {}
    statements = ["BEGIN"]
    if snapshot.evicted:  # before the insert: a re-added key's new rows must survive
        tables["checkpoint_gone"] = pa.table(
            {
                "deployment": pa.array([d for d, _ in snapshot.evicted], pa.string()),
                "key": pa.array([k for _, k in snapshot.evicted], pa.string()),
            }
        )
        statements.append(
            "DELETE FROM window_rows w USING checkpoint_gone g WHERE w.deployment = g.deployment AND w.key = g.key"
        )
    if snapshot.rows:
        deployments, keys, seqs, vals = (list(c) for c in zip(*snapshot.rows, strict=True))
        tables["checkpoint_batch"] = pa.table(
            {
                "deployment": pa.array(deployments, pa.string()),
                "key": pa.array(keys, pa.string()),
                "seq": pa.array(seqs, pa.uint64()),
                "vals": pa.array(vals, pa.list_(pa.float64())),
            }
        )
        statements.append("INSERT INTO window_rows SELECT deployment, key, seq, vals FROM checkpoint_batch")
    if snapshot.floors:  # rows that slid out of a full window: the file stays at about keys x size
        tables["checkpoint_floors"] = pa.table(
            {
                "deployment": pa.array([d for d, _, _ in snapshot.floors], pa.string()),
                "key": pa.array([k for _, k, _ in snapshot.floors], pa.string()),
                "seq": pa.array([q for _, _, q in snapshot.floors], pa.uint64()),
            }
        )
        statements.append(
            "DELETE FROM window_rows w USING checkpoint_floors f "
            "WHERE w.deployment = f.deployment AND w.key = f.key AND w.seq < f.seq"
        )
    if snapshot.marks:
        tables["checkpoint_marks"] = pa.table(
            {
                "deployment": pa.array(list(snapshot.marks), pa.string()),
                "low_water": pa.array(list(snapshot.marks.values()), pa.uint64()),
            }
        )
        statements.append("INSERT OR REPLACE INTO window_marks SELECT deployment, low_water FROM checkpoint_marks")
    statements.append("COMMIT")
    for name, table in tables.items():
        db.register(name, table)
    try:
        db.execute(";\n".join(statements))
    except Exception:
        with contextlib.suppress(duckdb.Error):  # nothing to roll back if BEGIN itself failed
            db.execute("ROLLBACK")
        raise
    finally:
        for name in tables:
            db.unregister(name)


# ---------------------------------------------------------------- the writer process
#
# Frames on the child's stdin and stdout: an 8-byte big-endian length, then a pickle. Requests are snapshots;
# each gets one reply, None once committed or the error's text. The child exits when its stdin closes (the
# service closed the store, or died), so it never outlives the runtime by more than the write in progress; it
# ignores SIGINT/SIGTERM, which reach the whole process group, because the service's drain still needs it.

_FRAME = struct.Struct(">Q")


def _send(stream: IO[bytes], value: object) -> None:
    blob = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_FRAME.pack(len(blob)) + blob)
    stream.flush()


def _receive(stream: IO[bytes]) -> Any:
    header = stream.read(_FRAME.size)
    if len(header) < _FRAME.size:
        raise EOFError("feature store writer: pipe closed")
    (length,) = _FRAME.unpack(header)
    blob = stream.read(length)
    if len(blob) < length:
        raise EOFError("feature store writer: pipe closed mid-frame")
    return pickle.loads(blob)  # noqa: S301 - frames come from the process this module started


class WriterProcess:
    """The DuckDB side of checkpoints in a child process (`python -c ...serve_writes`); restarted by the next
    `write()` if it died. Used from one thread at a time (the store's executor)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._process: subprocess.Popen[bytes] | None = None

    def _start(self) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [sys.executable, "-c", "from runtime.store import serve_writes; serve_writes()", str(self.path)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )  # fmt: skip
        assert process.stdout is not None
        try:
            ready = _receive(process.stdout)  # the file is open (or why not)
        except (OSError, EOFError) as exc:
            ready = f"exited with {process.wait()} ({exc})"
        if ready is not None:
            self._stop(process)
            raise RuntimeError(f"feature store writer did not start: {ready}")
        self._process = process
        return process

    def write(self, snapshot: Snapshot) -> None:
        process = self._process
        if process is not None and process.poll() is not None:
            self._stop(process)  # died (killed, or crashed): its pipes go, a new one starts
            process = None
        if process is None:
            process = self._start()
        assert process.stdin is not None
        assert process.stdout is not None
        try:
            _send(process.stdin, snapshot)
            error = _receive(process.stdout)
        except (OSError, EOFError):
            self._stop(process)
            raise
        if error is not None:
            raise RuntimeError(f"feature store checkpoint failed in the writer: {error}")

    def close(self) -> None:
        if self._process is not None:
            self._stop(self._process)

    def _stop(self, process: subprocess.Popen[bytes]) -> None:
        self._process = None
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def serve_writes() -> None:
    """The writer process: apply snapshots from stdin to the DuckDB file named in argv[1] until stdin closes."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    requests, replies = sys.stdin.buffer, sys.stdout.buffer
    try:
        db = _connect(Path(sys.argv[1]))
    except Exception as exc:
        _send(replies, f"{type(exc).__name__}: {exc}")
        return
    _send(replies, None)
    try:
        while True:
            try:
                snapshot = _receive(requests)
            except EOFError:
                return
            try:
                write_snapshot(db, snapshot)
            except Exception as exc:  # reported to the service, which keeps the acks back and retries
                _send(replies, f"{type(exc).__name__}: {exc}")
            else:
                _send(replies, None)
    finally:
        db.close()
