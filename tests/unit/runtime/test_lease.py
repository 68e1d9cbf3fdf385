"""The partition lease's pure rules (`runtime.lease`): who may claim a lease and when (never written, released, left
by this store's previous process, or unchanged for the holder's TTL on the claimant's own clock), when a holder
must stop (half the TTL without a successful renewal), and which local rows a new owner may trust; generated
timelines show that a claimant can never claim while the holder still fetches or writes. Also the record's
encoding (anything unreadable is a held lease, never an error), the store id kept beside the DuckDB file,
`FeatureStore.forget`, and the config's lease fields."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from runtime.config import ModelDeploymentConfig, PartitionsConfig
from runtime.lease import LeaseRecord, Observed, fenced, may_claim, store_id, trust_local
from runtime.store import FeatureStore
from tests.fixtures.edge_runtime import deployment

pytestmark = pytest.mark.unit

TTL_MS = 6000
HELD = LeaseRecord("host-a:10", "store-a", held=True, ttl_ms=TTL_MS)


def _seen(record: LeaseRecord | None, since: float = 100.0, seq: int = 7) -> Observed:
    return Observed(seq, record, since)


def test_a_lease_never_written_or_released_is_claimed_at_once() -> None:
    assert may_claim(Observed(0, None, 100.0), "store-b", 100.0, TTL_MS)
    released = LeaseRecord("host-a:10", "store-a", held=False, ttl_ms=TTL_MS)
    assert may_claim(_seen(released), "store-b", 100.0, TTL_MS)


def test_a_held_lease_is_claimed_only_after_its_ttl_unchanged() -> None:
    assert not may_claim(_seen(HELD), "store-b", 100.0, 1000)
    assert not may_claim(_seen(HELD), "store-b", 105.999, 1000)  # the holder's TTL counts, not the claimant's
    assert may_claim(_seen(HELD), "store-b", 106.0, 1000)


def test_this_stores_previous_process_is_gone_so_its_lease_is_claimed_at_once() -> None:
    assert may_claim(_seen(HELD), "store-a", 100.0, TTL_MS)


def test_an_unreadable_record_is_a_lease_held_for_the_claimants_ttl() -> None:
    assert not may_claim(_seen(None), "store-b", 105.0, TTL_MS)
    assert may_claim(_seen(None), "store-b", 106.0, TTL_MS)


def test_a_holder_is_fenced_at_half_its_ttl_without_a_renewal() -> None:
    assert not fenced(10.0, 12.999, TTL_MS)
    assert fenced(10.0, 13.0, TTL_MS)


@given(
    renewals=st.lists(st.floats(0.0, 1000.0), min_size=1, max_size=20),
    seen_after=st.floats(0.0, 100.0),
    ttl_ms=st.integers(300, 600_000),
    later=st.floats(0.0, 2000.0),
)
def test_a_claimant_never_claims_while_the_holder_may_still_use_the_partition(
    renewals: list[float], seen_after: float, ttl_ms: int, later: float
) -> None:
    """Whatever the timing: the claimant first sees the last renewal some time after it was sent; at any moment it
    may claim, the holder has been fenced for at least half the TTL (time for its in-flight work to end)."""
    last_sent = max(renewals)
    record = LeaseRecord("holder", "store-a", held=True, ttl_ms=ttl_ms)
    observed = Observed(len(renewals), record, last_sent + seen_after)
    now = observed.since + later
    if may_claim(observed, "store-b", now, TTL_MS):
        assert fenced(last_sent, now, ttl_ms)
        assert fenced(last_sent, now - ttl_ms / 2000, ttl_ms)


def test_local_rows_are_trusted_only_when_this_store_wrote_the_lease_last() -> None:
    assert trust_local(Observed(0, None, 0.0), "store-a")  # never leased: the file is all there is
    assert trust_local(_seen(HELD), "store-a")
    assert trust_local(_seen(LeaseRecord("host-c:1", "store-a", held=False, ttl_ms=TTL_MS)), "store-a")
    assert not trust_local(_seen(HELD), "store-b")
    assert not trust_local(_seen(None), "store-a")


def test_the_record_round_trips_and_anything_else_reads_as_unreadable() -> None:
    assert LeaseRecord.decode(HELD.encode()) == HELD
    for data in (b"", b"{", b"[]", b'{"holder": "x"}', json.dumps({**json.loads(HELD.encode()), "ttl_ms": 0}).encode()):
        assert LeaseRecord.decode(data) is None, data


@given(st.binary(max_size=64) | st.dictionaries(st.text(max_size=8), st.none() | st.integers() | st.text()).map(
    lambda d: json.dumps(d).encode()))  # fmt: skip
def test_decoding_never_raises(data: bytes) -> None:
    record = LeaseRecord.decode(data)
    assert record is None or record.ttl_ms > 0


def test_the_store_id_lives_beside_the_file_and_a_new_disk_is_a_new_store(tmp_path: Path) -> None:
    path = tmp_path / "state" / "features.duckdb"
    first = store_id(path)
    assert store_id(path) == first
    assert (tmp_path / "state" / "features.duckdb.id").read_text().strip() == first
    assert store_id(tmp_path / "other" / "features.duckdb") != first


def test_forget_drops_one_deployments_rows_before_it_is_restored(tmp_path: Path) -> None:
    path = tmp_path / "features.duckdb"
    store = FeatureStore(path, max_keys=100)
    for name in ("m.stable.p0", "m.stable.p1"):
        store.deployment(name, 4).apply("k", 1, (1.0,))
    store.write(store.snapshot())
    store.close()
    store = FeatureStore(path, max_keys=100)
    try:
        assert store.forget("m.stable.p0") == 1
        assert store.deployment("m.stable.p0", 4).windows == {}
        assert list(store.deployment("m.stable.p1", 4).windows) == ["k"]
        with pytest.raises(RuntimeError, match="after it was restored"):
            store.forget("m.stable.p1")
    finally:
        store.close()


def test_lease_intervals_leave_room_for_a_failed_renewal() -> None:
    assert PartitionsConfig(count=6, replicas=2).lease_ttl_ms == 15_000
    PartitionsConfig(count=6, replicas=2, lease_ttl_ms=3000, lease_renew_ms=1000)
    with pytest.raises(ValidationError, match="renew at most every third"):
        PartitionsConfig(count=6, replicas=2, lease_ttl_ms=3000, lease_renew_ms=1001)


def test_partitions_need_state() -> None:
    doc: dict[str, Any] = deployment("m", "sha256:" + "0" * 64, {"key": "k", "size": 2, "features": [
        {"name": "n", "op": "count"}]}, partitions={"count": 2, "replicas": 1})  # fmt: skip
    with pytest.raises(ValidationError, match="partitions: need `state`"):
        ModelDeploymentConfig.model_validate(doc, strict=False)
    doc["state"] = {"stream": "STATE", "subject": "state.m.stable"}
    assert ModelDeploymentConfig.model_validate(doc, strict=False).partitions is not None
