"""`partitions` in the runtime config: N runtime processes share an input that nats-server's subject mapping splits
into 6 partitions by the window key (`partition(6, 1)` of the key token), each owning the partitions p with
p % N == its ordinal through one durable consumer per partition. 10,000 fraud-scoring records over 200 cards through
1, 2 and 3 replicas — with 3, one replica SIGKILLed midway and its state directory deleted before it restarts (its
windows come back from the per-partition changelog once its own leases expire) — and across a change of N while
records are published (2 -> 3 with the new replica started before the old ones see the new config, so it waits for
their leases; 3 -> 2 with the leaving replica SIGKILLed, so its partitions are taken over when their leases expire)
end with exactly one result per input, every score equal to one uninterrupted process's, and each key's window whole
in exactly one replica's file. A replica waiting for leases held elsewhere stays alive but not ready, and starts once
they are released. A record published on another key's subject is dead-lettered `key_subject_mismatch` and changes
no score."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import nats
import numpy as np
import pytest

from runtime.config import WindowConfig
from runtime.lease import EXPECTED_LAST_SUBJECT_SEQ, LeaseRecord
from runtime.metrics import Health
from runtime.store import FeatureStore
from tests.fixtures.edge_runtime import RuntimeProcess, build_example_model, setup_streams
from tests.fixtures.nats import NatsServer
from tests.integration.runtime.helpers import (
    assert_one_result_each,
    example_records,
    expected_scores,
    expected_windows,
    held_leases,
    partitioned_replica,
    partitions_acked,
    publish_records,
    read_all,
    results_at_least,
    set_replicas,
    subject_count,
    wait_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

N = 10_000
P = 6
MODEL = "fraud-scoring"
DURABLES = {f"{MODEL}-stable-p{p}": f"in.tx.stable.direct.{p}.*" for p in range(P)}
MAPPING = 'mappings = { "in.tx.*": "in.tx.stable.direct.{{partition(6,1)}}.{{wildcard(1)}}" }'


@pytest.fixture
def partitioned_nats(nats_server_factory: Any) -> NatsServer:
    server: NatsServer = nats_server_factory(extra_config=MAPPING)
    return server


@pytest.mark.parametrize(("replicas", "disrupt"), [(1, False), (2, False), (3, True)])
async def test_replicas_own_partitions_and_score_as_one_process(
    tmp_path: Path, partitioned_nats: NatsServer, replicas: int, disrupt: bool
) -> None:
    model_path, digest, window_doc = build_example_model(MODEL, tmp_path / "models")
    window = WindowConfig.model_validate(window_doc, strict=False)
    partitions = {"count": P, "replicas": replicas, "lease_ttl_ms": 6000, "lease_renew_ms": 500}
    url = partitioned_nats.url
    procs = [partitioned_replica(tmp_path, o, url, model=MODEL, digest=digest, window=window_doc, partitions=partitions)
             for o in range(replicas)]  # fmt: skip
    records = example_records(MODEL, seed=23, count=N, keys=200)

    nc = await nats.connect(partitioned_nats.url)
    js = nc.jetstream()
    try:
        await setup_streams(js, state=True, durables=DURABLES, ack_wait_s=30)
        await publish_records(js, "in.tx", records, id_prefix="tx", key_field=window.key)
        pending = [(await js.consumer_info("IN", f"{MODEL}-stable-p{p}")).num_pending for p in range(P)]
        assert sum(pending) == N
        assert all(n > 0 for n in pending), pending  # every partition gets keys
        for proc in procs:
            proc.start(wait_ready=False)
        for proc in procs:
            proc.wait_ready()

        if disrupt:
            victim = procs[1]
            await wait_for(lambda: results_at_least(js, "out.results", N // 2), 120, "half the results",
                           victim.log_tail)  # fmt: skip
            victim.kill()
            await asyncio.sleep(0.5)
            shutil.rmtree(victim.config_path.parent / "state")
            victim.start()

        await wait_for(lambda: partitions_acked(js, "IN", list(DURABLES)), 180, "every partition fully acked",
                       procs[0].log_tail)  # fmt: skip
        logs = []
        for proc in procs:
            logs.append(proc.log_path.read_text())
            assert proc.terminate() == 0, proc.log_tail()

        await assert_one_result_each(js, model_path, window, records)
    finally:
        await nc.close()
        for proc in procs:
            proc.kill()  # a no-op once terminated; a failed run leaves no process behind
    if disrupt:
        assert "windows restored from the changelog" in logs[1]
        assert "partition lease acquired (expired" in logs[1]  # a new disk is a new store: its own lease expired

    _assert_windows_whole(procs, replicas, window, records)


@pytest.mark.parametrize(("before", "after", "kill"), [(2, 3, False), (3, 2, True)])
async def test_changing_n_while_sensors_publish_hands_every_partition_over_whole(
    tmp_path: Path, partitioned_nats: NatsServer, before: int, after: int, kill: bool
) -> None:
    """N changes in every runtime.json while records are published: each replica drains, releases the partitions it
    gives up and restarts; each new owner waits for the lease, restores the partition from its changelog and
    goes on. 3 -> 2 with the leaving replica SIGKILLed first: its partitions are taken over once their leases
    expire. Either way one result per input, every score as one uninterrupted process's."""
    model_path, digest, window_doc = build_example_model(MODEL, tmp_path / "models")
    window = WindowConfig.model_validate(window_doc, strict=False)
    partitions = {"count": P, "replicas": before, "lease_ttl_ms": 6000, "lease_renew_ms": 500}
    url = partitioned_nats.url
    procs = [partitioned_replica(tmp_path, o, url, model=MODEL, digest=digest, window=window_doc, partitions=partitions)
             for o in range(max(before, after))]  # fmt: skip
    records = example_records(MODEL, seed=31, count=N, keys=200)
    first = N * 2 // 5
    owners = {o: {f"{MODEL}.stable.p{p}" for p in range(o, P, after)} for o in range(after)}

    nc = await nats.connect(url)
    js = nc.jetstream()
    try:
        await setup_streams(js, state=True, durables=DURABLES, ack_wait_s=10)
        await publish_records(js, "in.tx", records[:first], id_prefix="tx", key_field=window.key)
        for proc in procs[:before]:
            proc.start(wait_ready=False)
        for proc in procs[:before]:
            proc.wait_ready()
        await wait_for(lambda: results_at_least(js, "out.results", N // 5), 120, "a fifth of the results",
                       procs[0].log_tail)  # fmt: skip
        if kill:
            procs[after].kill()
        # A new pod starts before the old ones see the new config (a ConfigMap reaches mounted files late): it
        # waits for the partitions' leases while their old owners still consume them.
        for proc in procs[before:after]:
            set_replicas(proc, after)
            proc.start(wait_ready=False)
        for proc in procs[before:after]:
            await wait_for(lambda p=proc: _logged(p, "waiting for the partition's lease"), 120,
                           "the new replica waiting for a lease", proc.log_tail)  # fmt: skip
        middle = (first + N) // 2
        await publish_records(js, "in.tx", records[first:middle], id_prefix="tx", key_field=window.key,
                              first_id=first)  # fmt: skip
        for proc in procs[: min(before, after)]:
            set_replicas(proc, after)
        await publish_records(js, "in.tx", records[middle:], id_prefix="tx", key_field=window.key, first_id=middle)

        async def handed_over() -> bool:
            mine = [held_leases(proc) for proc in procs[:after]]
            return mine == [owners[o] for o in range(after)] and await partitions_acked(js, "IN", list(DURABLES))

        await wait_for(handed_over, 240, "every partition held by its new owner and fully acked",
                       lambda: "\n".join(proc.log_tail(30) for proc in procs))  # fmt: skip
        logs = []
        for proc in procs[:after]:
            logs.append(proc.log_path.read_text())
            assert proc.terminate() == 0, proc.log_tail()
        await assert_one_result_each(js, model_path, window, records)
    finally:
        await nc.close()
        for proc in procs:
            proc.kill()
    for log in logs[:before]:
        assert "config changed beyond model versions" in log
    if kill:  # the partitions the SIGKILLed replica held are taken over once their leases expire
        assert all("partition lease acquired (expired" in log for log in logs)
    else:  # the new replica's partitions were released by their drained owners
        assert "partition lease acquired (released" in logs[after - 1]
    _assert_windows_whole(procs[:after], after, window, records)


async def _logged(proc: RuntimeProcess, text: str) -> bool:
    return text in proc.log_path.read_text(errors="replace")


def _assert_windows_whole(
    procs: list[RuntimeProcess], replicas: int, window: WindowConfig, records: list[dict[str, Any]]
) -> None:
    """Each key's window is whole, in the file of the one replica that owns its partition."""
    found: dict[str, tuple[list[int], list[Any]]] = {}
    for ordinal, proc in enumerate(procs):
        store = FeatureStore(proc.config_path.parent / "state" / "features.duckdb", max_keys=100_000)
        try:
            for p in range(ordinal, P, replicas):
                for key, w in store.deployment(f"{MODEL}.stable.p{p}", window.size).windows.items():
                    assert key not in found, key
                    found[key] = (w.seqs, w.rows)
        finally:
            store.close()
    assert found == expected_windows(window, records)


async def test_a_record_whose_key_is_not_its_subjects_is_dead_lettered_and_both_keys_still_score(
    tmp_path: Path, partitioned_nats: NatsServer
) -> None:
    """Every tenth record goes out on another card's subject (so into that card's partition): each is dead-lettered
    as `key_subject_mismatch`, and every other record scores as in a run without them."""
    model_path, digest, window_doc = build_example_model(MODEL, tmp_path / "models")
    window = WindowConfig.model_validate(window_doc, strict=False)
    partitions = {"count": P, "replicas": 1, "lease_ttl_ms": 6000, "lease_renew_ms": 500}
    proc = partitioned_replica(tmp_path, 0, partitioned_nats.url, model=MODEL, digest=digest, window=window_doc,
                               partitions=partitions)  # fmt: skip
    records = example_records(MODEL, seed=37, count=600, keys=20)
    keys = sorted({r[window.key] for r in records})
    astray = {i for i in range(len(records)) if i % 10 == 5}
    nc = await nats.connect(partitioned_nats.url)
    js = nc.jetstream()
    try:
        await setup_streams(js, state=True, durables=DURABLES)
        for i, record in enumerate(records):
            key = record[window.key]
            named = keys[(keys.index(key) + 1) % len(keys)] if i in astray else key
            await js.publish(f"in.tx.{named}", json.dumps(record).encode(), headers={"Nats-Msg-Id": f"tx-{i}"})
        proc.start()
        await wait_for(lambda: partitions_acked(js, "IN", list(DURABLES)), 120, "every partition acked",
                       proc.log_tail)  # fmt: skip
        assert proc.terminate() == 0, proc.log_tail()
        dead = await read_all(js, "OUT", "out.dlq", len(astray))
        assert sorted(int(m.headers["Nats-Msg-Id"].rsplit("-", 1)[1]) for m in dead) == sorted(astray)
        assert {m.headers["Edgeops-Dead-Letter-Reason"] for m in dead} == {"key_subject_mismatch"}
        kept = [r for i, r in enumerate(records) if i not in astray]
        results = [json.loads(m.data) for m in await read_all(js, "OUT", "out.results", len(kept))]
        assert len(results) == len(kept)
        got = [b["score"] for b in sorted(results, key=lambda b: int(b["input_id"].split("-")[1]))]
        np.testing.assert_allclose(got, expected_scores(model_path, window, kept), atol=1e-5, rtol=1e-4)
    finally:
        await nc.close()
        proc.kill()


async def test_a_replica_waiting_for_leases_held_elsewhere_is_alive_not_ready_and_starts_once_they_are_released(
    tmp_path: Path, partitioned_nats: NatsServer
) -> None:
    """Another process holds every partition's lease (a TTL of ten minutes): the replica waits, not ready and not
    consuming, while `/healthz` stays 200 past the heartbeat's stall limit (a liveness probe must not kill a replica
    that waits for an old owner); once the leases are released it restores, consumes and scores."""
    model_path, digest, window_doc = build_example_model(MODEL, tmp_path / "models")
    window = WindowConfig.model_validate(window_doc, strict=False)
    partitions = {"count": P, "replicas": 1, "lease_ttl_ms": 6000, "lease_renew_ms": 500}
    proc = partitioned_replica(tmp_path, 0, partitioned_nats.url, model=MODEL, digest=digest, window=window_doc,
                               partitions=partitions)  # fmt: skip
    records = example_records(MODEL, seed=41, count=300, keys=20)
    subjects = [f"state.{MODEL}.stable.p{p}.lease" for p in range(P)]
    elsewhere = LeaseRecord("elsewhere:1", "another-store", held=True, ttl_ms=600_000)
    nc = await nats.connect(partitioned_nats.url)
    js = nc.jetstream()
    try:
        await setup_streams(js, state=True, durables=DURABLES)
        held = [await js.publish(s, elsewhere.encode(), headers={EXPECTED_LAST_SUBJECT_SEQ: "0"}) for s in subjects]
        await publish_records(js, "in.tx", records, id_prefix="tx", key_field=window.key)
        proc.start(wait_ready=False)
        await wait_for(lambda: _logged(proc, "waiting for the partition's lease, held by elsewhere:1"), 120,
                       "the replica waiting for the leases", proc.log_tail)  # fmt: skip
        await asyncio.sleep(Health().stall_after_s + 2)  # past the point where a stalled event loop reads as dead
        assert proc.http("/healthz")[0] == 200
        assert proc.http("/readyz")[0] == 503
        assert await subject_count(js, "OUT", "out.results") == 0
        released = LeaseRecord("elsewhere:1", "another-store", held=False, ttl_ms=600_000)
        for subject, ack in zip(subjects, held, strict=True):
            await js.publish(subject, released.encode(), headers={EXPECTED_LAST_SUBJECT_SEQ: str(ack.seq)})
        proc.wait_ready()
        await wait_for(lambda: partitions_acked(js, "IN", list(DURABLES)), 120, "every partition acked",
                       proc.log_tail)  # fmt: skip
        assert proc.terminate() == 0, proc.log_tail()
        results = [json.loads(m.data) for m in await read_all(js, "OUT", "out.results", len(records))]
        got = [b["score"] for b in sorted(results, key=lambda b: int(b["input_id"].split("-")[1]))]
        np.testing.assert_allclose(got, expected_scores(model_path, window, records), atol=1e-5, rtol=1e-4)
    finally:
        await nc.close()
        proc.kill()
    assert "partition lease acquired (released from elsewhere:1)" in proc.log_path.read_text()
