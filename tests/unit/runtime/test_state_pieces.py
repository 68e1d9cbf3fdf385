"""The pure pieces behind state that survives the disk: the changelog's subject token for a key (any key, any
length the limits allow, round-trips and is a valid single NATS subject token), the replay mark windows report
(the lowest held sequence, else one past the newest applied), the keys a flush must write (applied and evicted
ones, tracked only once a changelog is attached), and an unreadable DuckDB file set aside with a new one started."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runtime.changelog import key_token, token_key
from runtime.limits import MAX_KEY_CHARS
from runtime.store import DeploymentWindows, FeatureStore

pytestmark = pytest.mark.unit

TOKEN = re.compile(r"[A-Za-z0-9_-]+")


@given(st.text(min_size=1, max_size=MAX_KEY_CHARS))
def test_any_key_round_trips_through_one_subject_token(key: str) -> None:
    token = key_token(key)
    assert TOKEN.fullmatch(token)
    assert token_key(token) == key


@pytest.mark.parametrize("key", ["card-1", "a.b", "*", ">", "with space", "ü", "\ud800", "x" * MAX_KEY_CHARS])
def test_named_keys_round_trip(key: str) -> None:
    assert TOKEN.fullmatch(key_token(key))
    assert token_key(key_token(key)) == key


def test_replay_mark_is_the_low_water_mark_or_one_past_the_newest() -> None:
    windows = DeploymentWindows("m.stable", 3, 100)
    assert windows.replay_mark() == 1
    for seq in (1, 2, 5):
        windows.hold(seq)
        windows.apply("a", seq, (float(seq),))
    assert windows.replay_mark() == 1
    windows.release(1)
    assert windows.replay_mark() == 2
    windows.release(2)
    windows.release(5)
    assert windows.replay_mark() == 6
    windows.apply("b", 4, (4.0,))  # a late record does not lower what is applied
    assert windows.replay_mark() == 6


def test_changed_keys_are_tracked_once_a_changelog_is_attached() -> None:
    windows = DeploymentWindows("m.stable", 2, 2)
    windows.apply("a", 1, (1.0,))
    assert windows.changed is None
    windows.changed = set()
    windows.apply("b", 2, (2.0,))
    windows.apply("b", 2, (2.0,))  # a redelivery changes nothing
    windows.apply("c", 3, (3.0,))  # evicts "a"
    assert windows.changed == {"a", "b", "c"}


@pytest.mark.parametrize("content", [b"not a database" * 512, b"", b"DUCK" + bytes(range(256)) * 64])
def test_unreadable_file_is_set_aside_and_a_new_one_started(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "features.duckdb"
    path.write_bytes(content)
    store = FeatureStore(path, max_keys=10)
    try:
        assert store.deployment("m.stable", 3).windows == {}
    finally:
        store.close()
    aside = [p for p in tmp_path.glob("features.duckdb.corrupt-*") if not p.name.endswith(".wal")]
    assert [p.read_bytes() for p in aside] == [content]
    reopened = FeatureStore(path, max_keys=10)  # the new file is a good one
    reopened.close()
    assert len(list(tmp_path.glob("features.duckdb.corrupt-*[0-9]"))) == 1
