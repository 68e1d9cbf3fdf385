"""The pure pieces behind state that survives the disk: the changelog's subject token for a key (any key, any
length the limits allow, round-trips and is a valid single NATS subject token), the replay mark windows report
(the lowest held sequence, else one past the newest applied), the keys a flush must write (applied and evicted
ones, tracked only once a changelog is attached), an unreadable DuckDB file set aside with a new one started; and
partition ownership: any count and replicas give every partition exactly one owner and every replica one, the
ordinal comes from a number or a StatefulSet pod name, and a bad ordinal or more replicas than partitions is
refused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from runtime.changelog import key_token, token_key
from runtime.config import ConfigError, PartitionsConfig
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


@given(st.integers(1, 64), st.data())
def test_replicas_own_every_partition_exactly_once(count: int, data: st.DataObject) -> None:
    replicas = data.draw(st.integers(1, count))
    parts = PartitionsConfig(count=count, replicas=replicas)
    owned = [p for ordinal in range(replicas) for p in parts.owned(ordinal)]
    assert sorted(owned) == list(range(count))
    assert all(parts.owned(ordinal) for ordinal in range(replicas))


@pytest.mark.parametrize(("value", "ordinal"), [("0", 0), ("2", 2), ("fraud-scoring-stable-1", 1), ("rt-0", 0)])
def test_ordinal_is_a_number_or_a_pod_name_ending_in_one(value: str, ordinal: int) -> None:
    assert PartitionsConfig(count=6, replicas=3).ordinal_from({"EDGEOPS_ORDINAL": value}) == ordinal


@pytest.mark.parametrize("environ", [{}, {"EDGEOPS_ORDINAL": ""}, {"EDGEOPS_ORDINAL": "rt"}, {"EDGEOPS_ORDINAL": "3"}])
def test_a_missing_or_out_of_range_ordinal_is_refused(environ: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="partitions: "):
        PartitionsConfig(count=6, replicas=3).ordinal_from(environ)


def test_more_replicas_than_partitions_is_refused() -> None:
    with pytest.raises(ValidationError, match="at least as many partitions"):
        PartitionsConfig(count=2, replicas=3)
