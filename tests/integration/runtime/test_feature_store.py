"""Feature store persistence in a real DuckDB file: checkpoints restore to the same windows (including late
records and redeliveries); an evicted key's rows are deleted while a re-added key keeps only its new rows;
rows that slid out of their window are deleted at the next checkpoint, so the file holds about keys x size rows;
restore with a smaller key cap keeps the most recent keys; rows a held record's window needs (records at or
above the checkpoint's low-water mark) survive checkpoint and restore, and a clean mark restores plain windows; the
stored mark is never above the true one (a risen mark is refreshed every MARK_REFRESH_WRITES checkpoints); a failed write is re-queued; after the hand-over to
the writer process checkpoints behave the same, its failures are reported and a dead writer is restarted; the writer process loads DuckDB and Arrow but not pydantic."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from runtime.store import MARK_REFRESH_WRITES, FeatureStore, Snapshot

pytestmark = pytest.mark.integration


def _state(store: FeatureStore, name: str, size: int) -> dict[str, tuple[list[int], list[tuple[float, ...]]]]:
    return {k: (w.seqs, w.rows) for k, w in store.deployment(name, size).windows.items()}


def test_checkpoint_and_restore_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "f.duckdb"
    store = FeatureStore(path, max_keys=100)
    windows = store.deployment("m.stable", 3)
    for seq in (1, 2, 4, 5, 6):
        windows.apply(f"k{seq % 2}", seq, (float(seq), -float(seq)))
    store.write(store.snapshot())
    windows.apply("k1", 3, (3.0, -3.0))  # late
    windows.apply("k0", 4, (99.0, 99.0))  # redelivery: ignored
    store.write(store.snapshot())
    before = _state(store, "m.stable", 3)
    store.close()
    restored = FeatureStore(path, max_keys=100)
    assert _state(restored, "m.stable", 3) == before
    assert before["k1"][0] == [1, 3, 5]
    restored.close()


def test_rows_of_held_records_windows_survive_restore(tmp_path: Path) -> None:
    path = tmp_path / "f.duckdb"
    store = FeatureStore(path, max_keys=100)
    windows = store.deployment("m.stable", 3)
    for seq in range(1, 9):
        windows.hold(seq)
        windows.apply("a", seq, (float(seq),))
        if seq != 4:
            windows.release(seq)
    store.write(store.snapshot())  # 4's result unconfirmed at the checkpoint; then the runtime dies
    store.close()
    restored = FeatureStore(path, max_keys=100)
    windows = restored.deployment("m.stable", 3)
    assert windows.windows["a"].seqs == [2, 3, 4, 5, 6, 7, 8]
    assert windows.apply("a", 4, (4.0,)) == [(2.0,), (3.0,), (4.0,)]  # the recovered tail re-applies 4
    windows.apply("a", 9, (9.0,))  # nothing held in this process any more
    store_state = (windows.windows["a"].seqs, windows.low_water())
    assert store_state == ([7, 8, 9], None)
    restored.write(restored.snapshot())  # the mark is cleared
    restored.close()
    again = FeatureStore(path, max_keys=100)
    assert _state(again, "m.stable", 3) == {"a": ([7, 8, 9], [(7.0,), (8.0,), (9.0,)])}
    again.close()


def test_low_water_mark_is_stored_at_or_below_the_true_one(tmp_path: Path) -> None:
    store = FeatureStore(tmp_path / "f.duckdb", max_keys=100)
    windows = store.deployment("m.stable", 3)

    def checkpoint(seq: int) -> int | None:
        windows.hold(seq)
        windows.apply("a", seq, (float(seq),))
        store.write(store.snapshot())
        ((mark,),) = store._db.execute("SELECT low_water FROM window_marks").fetchall()
        return int(mark) if mark is not None else None

    assert checkpoint(1) == 1  # first mark: stored at once
    rises = []
    for seq in range(2, 2 + MARK_REFRESH_WRITES):
        windows.release(seq - 1)
        rises.append(checkpoint(seq))
    # A risen mark waits (1 is still at or below the true one) and is refreshed with the 20th checkpoint.
    assert rises == [1] * (MARK_REFRESH_WRITES - 1) + [MARK_REFRESH_WRITES + 1]
    top = MARK_REFRESH_WRITES + 2
    windows.hold(3)  # a redelivery held again: the mark falls, stored at once
    assert checkpoint(top) == 3
    for seq in (3, top - 1, top):
        windows.release(seq)
    store.write(store.snapshot())  # nothing held: stored at once (a drain's last checkpoint)
    assert store._db.execute("SELECT low_water FROM window_marks").fetchall() == [(None,)]
    store.close()


def test_eviction_deletes_rows_and_readded_key_starts_clean(tmp_path: Path) -> None:
    path = tmp_path / "f.duckdb"
    store = FeatureStore(path, max_keys=2)
    windows = store.deployment("m.stable", 4)
    windows.apply("a", 1, (1.0,))
    windows.apply("b", 2, (2.0,))
    store.write(store.snapshot())
    windows.apply("c", 3, (3.0,))  # evicts a (written before)
    windows.apply("a", 4, (4.0,))  # evicts b; a comes back fresh
    store.write(store.snapshot())
    store.close()
    restored = FeatureStore(path, max_keys=2)
    assert _state(restored, "m.stable", 4) == {"c": ([3], [(3.0,)]), "a": ([4], [(4.0,)])}
    restored.close()


def test_old_rows_are_deleted_and_recency_cap(tmp_path: Path) -> None:
    path = tmp_path / "f.duckdb"
    store = FeatureStore(path, max_keys=10)
    windows = store.deployment("m.stable", 2)
    for seq in range(1, 41):
        windows.apply(f"k{seq % 4}", seq, (float(seq),))
        if seq % 5 == 0:
            store.write(store.snapshot())
    before = _state(store, "m.stable", 2)
    ((rows,),) = store._db.execute("SELECT count(*) FROM window_rows").fetchall()
    assert rows == 4 * 2  # exactly the windows: every key's window is full
    store.close()
    capped = FeatureStore(path, max_keys=2)
    assert _state(capped, "m.stable", 2) == {k: before[k] for k in ("k3", "k0")}  # the two newest keys
    capped.close()


def test_failed_write_is_requeued(tmp_path: Path) -> None:
    store = FeatureStore(tmp_path / "f.duckdb", max_keys=10)
    windows = store.deployment("m.stable", 3)
    windows.apply("a", 1, (1.0,))
    snapshot = store.snapshot()
    assert windows.log == []
    store.requeue(snapshot)
    assert [(k, q) for k, _, q, _ in windows.log] == [("a", 1)]
    store.write(store.snapshot())
    store.close()
    assert _state(FeatureStore(tmp_path / "f.duckdb", max_keys=10), "m.stable", 3) == {"a": ([1], [(1.0,)])}


def test_writes_handed_over_to_the_writer_process_round_trip(tmp_path: Path) -> None:
    """After `hand_over_writes` a child process does the DuckDB side: same rows, evictions and deletions, and a
    restore from its file equals the windows in memory."""
    path = tmp_path / "f.duckdb"
    store = FeatureStore(path, max_keys=3)
    windows = store.deployment("m.stable", 2)
    windows.apply("a", 1, (1.0,))
    store.write(store.snapshot())  # before the hand-over: this process's connection
    store.hand_over_writes()
    for seq in range(2, 30):
        windows.apply(f"k{seq % 3}", seq, (float(seq),))  # "a" is evicted, the windows fill and slide
        if seq % 4 == 0:
            store.write(store.snapshot())
    windows.apply("k2", 29, (0.0,))  # redelivery: ignored
    windows.apply("k1", 27, (27.5,))  # late: slotted in
    windows.apply("new", 30, (30.0,))  # evicts k0
    store.write(store.snapshot())
    before = _state(store, "m.stable", 2)
    with pytest.raises(RuntimeError, match="after the writes were handed over"):
        store.deployment("other.stable", 2)
    store.close()
    restored = FeatureStore(path, max_keys=3)
    assert _state(restored, "m.stable", 2) == before
    ((rows,),) = restored._db.execute("SELECT count(*) FROM window_rows").fetchall()
    assert rows == 2 + 2 + 1  # k1, k2 (full) and "new": nothing of "a", k0 or the rows that slid out
    assert before == {
        "k1": ([27, 28], [(27.5,), (28.0,)]),
        "k2": ([26, 29], [(26.0,), (29.0,)]),
        "new": ([30], [(30.0,)]),
    }
    restored.close()


def test_writer_process_failure_is_reported_and_a_dead_writer_is_restarted(tmp_path: Path) -> None:
    path = tmp_path / "f.duckdb"
    store = FeatureStore(path, max_keys=10)
    windows = store.deployment("m.stable", 3)
    store.hand_over_writes()
    with pytest.raises(RuntimeError, match="NOT NULL"):  # the transaction is rolled back in the writer
        store.write(Snapshot([("m.stable", None, 1, (1.0,))], []))  # type: ignore[list-item]
    windows.apply("a", 1, (1.0,))
    store.write(store.snapshot())
    writer = store._writer
    assert writer is not None
    assert writer._process is not None
    writer._process.kill()
    writer._process.wait()
    windows.apply("a", 2, (2.0,))
    store.write(store.snapshot())  # a new writer process
    store.close()
    assert _state(FeatureStore(path, max_keys=10), "m.stable", 3) == {"a": ([1, 2], [(1.0,), (2.0,)])}


def test_the_writer_process_imports_no_config_model() -> None:
    """What the writer's `python -c` imports (runtime, runtime.store) stays free of pydantic: it starts faster."""
    probe = "import sys; import runtime.store.writer_process; print(sorted(m for m in ('pydantic', 'runtime.config', 'duckdb') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['duckdb']"
