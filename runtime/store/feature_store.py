"""The feature store: all deployments' windows in memory, checkpointed to DuckDB in batches, restored on start.

The windows themselves and why a checkpoint stores a low-water mark are in `runtime.store.windows`; the file's
layout and the SQL in `runtime.store.duckdb_store`. Checkpoints run here, in the service's store thread, until
the windows are restored; then `FeatureStore.hand_over_writes` moves the DuckDB file to a writer process
(`runtime.store.writer_process`), so that DuckDB's statement planning, which holds the GIL, stays out of the
event loop's way.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from runtime.store.duckdb_store import Snapshot, connect, forget_rows, restore_rows, write_snapshot
from runtime.store.windows import DeploymentWindows, Window
from runtime.store.writer_process import WriterProcess

if TYPE_CHECKING:
    from runtime.features import Row

log = logging.getLogger("edgeops.runtime")

MARK_REFRESH_WRITES = 20  # a risen low-water mark is stored with every 20th checkpoint (see FeatureStore._marks_due)


def open_or_set_aside(path: Path, damage: Exception | None = None) -> duckdb.DuckDBPyConnection:
    """Open the DuckDB file; one that cannot be opened or read (corrupt, truncated, another program's file), or
    whose `damage` a read found later, is renamed `<name>.corrupt-<unix time>` with a log line and a new file
    started: the windows then come from the changelog (`runtime.changelog`). A bad file never stops the service."""
    if damage is None:
        try:
            db = connect(path)
            db.execute("SELECT count(*) FROM window_rows").fetchall()
            db.execute("SELECT count(*) FROM window_marks").fetchall()
            return db
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():  # another process holds it: not the file's fault
                raise
            damage = exc
        except duckdb.Error as exc:
            damage = exc
    aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
    for part in (path, path.with_name(path.name + ".wal")):
        if part.exists():
            part.rename(aside if part == path else aside.with_name(aside.name + ".wal"))
    first_line = (str(damage).splitlines() or [""])[0]
    log.error("feature store %s is unreadable (%s: %s); moved aside to %s, windows rebuilt from the changelog",
              path, type(damage).__name__, first_line, aside)  # fmt: skip
    return connect(path)


class FeatureStore:
    """All deployments' windows; checkpoint with `snapshot()` (in the event loop) then `write()` (one thread).

    `hand_over_writes()` moves the DuckDB connection into a writer process; after it, `write()` sends the
    snapshot there and returns once it is committed (or raises), and no further deployment can be restored."""

    def __init__(self, path: Path, max_keys: int) -> None:
        self.path = path
        self.max_keys = max_keys
        self.deployments: dict[str, DeploymentWindows] = {}
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = open_or_set_aside(path)
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

    def forget(self, deployment: str) -> int:
        """Drop a deployment's rows from the file before it is restored: another process consumed its input since
        they were written (a partition that moved away and back, `runtime.lease.trust_local`). Returns how many."""
        if self._writer is not None or deployment in self.deployments:
            raise RuntimeError(f"feature store: {deployment} forgotten after it was restored")
        return forget_rows(self._db, deployment)

    def hand_over_writes(self) -> None:
        """Close this process's DuckDB connection and let a writer process do every later `write()`."""
        if self._writer is None:
            self._db.close()
            self._writer = WriterProcess(self.path)

    def _restore(self, windows: DeploymentWindows) -> None:
        try:
            restored = restore_rows(self._db, windows.deployment, windows.size, self.max_keys)
        except duckdb.Error as exc:  # a damaged block only this query reads: set aside like an unreadable file
            self._db.close()
            self._db = open_or_set_aside(self.path, exc)
            restored = []
        for key, seqs, rows in restored:
            windows.windows[key] = Window(windows.size, seqs, rows)
            windows.newest = max(windows.newest, seqs[-1])

    def seed(self, deployment: str) -> None:
        """Queue every row of a deployment's windows for the next checkpoint: windows restored from elsewhere
        (the changelog) must be whole in the file too, not only the rows applied after the restore."""
        windows = self.deployments[deployment]
        windows.log.extend(
            (key, w, seq, row) for key, w in windows.windows.items() for seq, row in zip(w.seqs, w.rows, strict=True)
        )

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
