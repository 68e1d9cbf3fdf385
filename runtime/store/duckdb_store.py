"""The feature store's DuckDB file: its schema, the restore query and one checkpoint's write.

Persistence is an append-only log of applied rows, `window_rows(deployment, key, seq, vals)`: a checkpoint
appends the rows applied since the last one as one Arrow batch and, in the same transaction, deletes evicted keys
and the rows that slid out of the touched keys' windows (its cost follows the message rate, not the number of
keys). Restore keeps, per key, the newest `size` rows by sequence (more where a record held at the checkpoint
needs them). `window_marks` holds each deployment's low-water mark (see `runtime.store.windows`).

Used by the service's process until the windows are restored, and by the writer process after that
(`runtime.store.writer_process`), which imports only this module's dependencies: DuckDB and Arrow.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa

if TYPE_CHECKING:
    from runtime.features import Row

SCHEMA = """
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


@dataclass
class Snapshot:
    """One checkpoint: what changed since the last one (`FeatureStore.snapshot`); pickled to the writer process."""

    rows: list[tuple[str, str, int, Row]]  # (deployment, key, seq, values) applied since the last one
    evicted: list[tuple[str, str]]
    floors: list[tuple[str, str, int]] = field(default_factory=list)  # (deployment, key, oldest seq kept)
    marks: dict[str, int | None] = field(default_factory=dict)  # deployment -> low-water mark (None: nothing held)


def connect(path: Path, lock_wait_s: float = 10.0) -> duckdb.DuckDBPyConnection:
    """Open the file (creating the tables), waiting up to `lock_wait_s` for another process's lock."""
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
    db.execute(SCHEMA)
    return db


def forget_rows(db: duckdb.DuckDBPyConnection, deployment: str) -> int:
    """Delete a deployment's rows and mark (its windows are restored from elsewhere); returns how many rows."""
    (count,) = db.execute("SELECT count(*) FROM window_rows WHERE deployment = ?", [deployment]).fetchone() or (0,)
    db.execute("DELETE FROM window_rows WHERE deployment = ?", [deployment])
    db.execute("DELETE FROM window_marks WHERE deployment = ?", [deployment])
    return int(count)


def restore_rows(
    db: duckdb.DuckDBPyConnection, deployment: str, size: int, max_keys: int
) -> list[tuple[str, list[int], list[Row]]]:
    """(key, sequences, rows) per key to restore, oldest row first, least recently active key first.

    Per key the newest `size` rows, or more where records at or above the stored low-water mark (held at the
    checkpoint, so possibly redelivered now) need older rows in their windows. Newest keys last, so the LRU
    order after a restart follows recency (highest sequence)."""
    table = db.sql(
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
        params={"deployment": deployment, "max_keys": max_keys, "size": size},
    ).to_arrow_table()
    keys, seqs, vals = (table.column(n).to_pylist() for n in ("key", "seqs", "vals"))
    return [
        (key, list(key_seqs), [tuple(v) for v in key_vals])
        for key, key_seqs, key_vals in zip(keys, seqs, vals, strict=True)
    ]


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
