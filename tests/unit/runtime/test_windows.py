"""In-memory windows (runtime.store.Window, DeploymentWindows): in-order append capped at size; redelivery of
an applied sequence changes nothing and sees the window as of that record; a late record is slotted in by
sequence; a record older than a full window is not stored; sources without sequence append; LRU eviction at
max_keys with the evicted key reported and a re-added key starting clean; only changes are logged."""

from __future__ import annotations

import pytest

from runtime.store import DeploymentWindows, Window

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
