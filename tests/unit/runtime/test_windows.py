"""In-memory windows (runtime.store.Window, DeploymentWindows): in-order append capped at size; redelivery of
an applied sequence changes nothing and sees the window as of that record; a late record is slotted in by
sequence; a record older than a full window is not stored; sources without sequence append; LRU eviction at
max_keys with the evicted key reported and a re-added key starting clean; only changes are logged; a held record
(applied, result not yet confirmed) keeps the rows of its window until released, up to RETAIN_FACTOR x size."""

from __future__ import annotations

import pytest

from runtime.store import RETAIN_FACTOR, DeploymentWindows, Window

pytestmark = pytest.mark.unit


def rows(*xs: float) -> list[tuple[float, ...]]:
    return [(x,) for x in xs]


def test_in_order_append_is_capped_at_size() -> None:
    window = Window(3)
    for seq in range(1, 6):
        view, stored = window.apply(seq, (float(seq),))
        assert stored == seq
        assert view == rows(*range(max(1, seq - 2), seq + 1))
    assert window.seqs == [3, 4, 5]


def test_redelivery_is_a_no_op_that_sees_the_window_as_of_itself() -> None:
    window = Window(4)
    for seq in (1, 2, 3):
        window.apply(seq, (float(seq),))
    view, stored = window.apply(2, (99.0,))
    assert stored is None
    assert view == rows(1, 2)
    assert window.rows == rows(1, 2, 3)


def test_late_record_is_slotted_in_by_sequence() -> None:
    window = Window(4)
    for seq in (1, 3, 4):
        window.apply(seq, (float(seq),))
    view, stored = window.apply(2, (2.0,))
    assert stored == 2
    assert view == rows(1, 2)
    assert window.seqs == [1, 2, 3, 4]


def test_late_record_into_a_full_window_drops_the_oldest() -> None:
    window = Window(3)
    for seq in (1, 3, 4):
        window.apply(seq, (float(seq),))
    view, stored = window.apply(2, (2.0,))
    assert stored == 2
    assert window.seqs == [2, 3, 4]
    assert view == rows(2)


def test_record_older_than_a_full_window_is_not_stored() -> None:
    window = Window(2)
    for seq in (5, 6):
        window.apply(seq, (float(seq),))
    view, stored = window.apply(1, (1.0,))
    assert stored is None
    assert view == rows(1)
    assert window.seqs == [5, 6]


def test_sources_without_sequence_append() -> None:
    window = Window(3)
    assert window.apply(None, (1.0,))[1] == 1
    assert window.apply(None, (2.0,))[1] == 2
    assert window.rows == rows(1, 2)
    assert window.peek((3.0,)) == rows(1, 2, 3)
    assert window.rows == rows(1, 2)


def test_lru_eviction_and_change_log() -> None:
    windows = DeploymentWindows("m.stable", size=2, max_keys=2)
    windows.apply("a", 1, (1.0,))
    windows.apply("b", 2, (2.0,))
    windows.apply("a", 3, (3.0,))  # a is now the most recent
    windows.apply("c", 4, (4.0,))  # evicts b
    assert list(windows.windows) == ["a", "c"]
    assert windows.evicted == {"b"}
    windows.apply("a", 3, (3.0,))  # redelivery: not logged again, but a counts as used
    assert [(key, seq) for key, _, seq, _ in windows.log] == [("a", 1), ("b", 2), ("a", 3), ("c", 4)]
    windows.apply("b", 5, (5.0,))  # re-added: a fresh window, evicting c
    assert windows.windows["b"].seqs == [5]
    assert [key for key, _ in windows.recent()] == ["b", "a"]
    assert windows.evicted == {"b", "c"}


def test_held_record_keeps_its_window_until_released() -> None:
    windows = DeploymentWindows("m.stable", size=3, max_keys=10)

    def apply(seq: int) -> list[tuple[float, ...]]:
        windows.hold(seq)
        return windows.apply("a", seq, (float(seq),))

    for seq in (1, 2):
        apply(seq)
        windows.release(seq)
    assert apply(3) == rows(1, 2, 3)  # held: its result is not confirmed yet
    for seq in (4, 5, 6):
        assert apply(seq) == rows(seq - 2, seq - 1, seq)  # newer records still see `size` rows
    assert windows.low_water() == 3
    assert windows.windows["a"].seqs == [1, 2, 3, 4, 5, 6]
    # A redelivery of 3 (say its publish was lost when the server restarted) is scored over the same window.
    assert windows.apply("a", 3, (99.0,)) == rows(1, 2, 3)
    assert windows.apply("a", 5, (99.0,)) == rows(3, 4, 5)
    for seq in (3, 4, 5):
        windows.release(seq)
    assert windows.low_water() == 6
    assert apply(7) == rows(5, 6, 7)
    assert windows.windows["a"].seqs == [4, 5, 6, 7]  # 6's window still holds 4 and 5
    windows.release(6)
    windows.release(7)
    assert windows.low_water() is None
    apply(8)
    windows.release(8)
    assert windows.windows["a"].seqs == [6, 7, 8]


def test_holding_is_per_sequence_and_release_is_idempotent() -> None:
    windows = DeploymentWindows("m.stable", size=2, max_keys=10)
    windows.hold(5)
    windows.hold(5)  # a redelivery processed while the first copy is in flight
    windows.hold(2)
    assert windows.low_water() == 2
    windows.release(2)
    windows.release(2)
    windows.release(9)  # never held (a dead letter, an MQTT message)
    assert windows.low_water() == 5
    windows.release(5)
    assert windows.low_water() is None
    windows.hold(5)  # held again after release
    assert windows.low_water() == 5


def test_a_record_never_released_keeps_at_most_retain_factor_windows() -> None:
    window = Window(2)
    for seq in range(1, 100):
        view, _ = window.apply(seq, (float(seq),), keep_from=1)
        assert view == rows(max(seq - 1, 1), seq)[-2:] if seq > 1 else rows(1)
    assert len(window.seqs) == 2 * RETAIN_FACTOR
    assert window.seqs[-1] == 99
    assert window.current() == rows(98, 99)


def test_late_record_among_retained_rows_sees_size_rows() -> None:
    window = Window(3)
    for seq in (1, 2, 3, 5, 6):
        window.apply(seq, (float(seq),), keep_from=1)
    view, stored = window.apply(4, (4.0,), keep_from=1)
    assert stored == 4
    assert view == rows(2, 3, 4)
    assert window.seqs == [1, 2, 3, 4, 5, 6]
