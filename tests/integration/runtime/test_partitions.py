"""`partitions` in the runtime config: N runtime processes share an input that nats-server's subject mapping splits
into 6 partitions by the window key (`partition(6, 1)` of the key token), each owning the partitions p with
p % N == its ordinal through one durable consumer per partition. 10,000 fraud-scoring records over 200 cards through
1, 2 and 3 replicas — with 3, one replica SIGKILLed midway and its state directory deleted before it restarts (its
windows come back from the per-partition changelog) — end with exactly one result per input, every score equal to
one uninterrupted process's, and each key's window whole in exactly one replica's file."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import nats
import numpy as np
import pytest
from nats.js.api import AckPolicy, ConsumerConfig

from runtime.config import WindowConfig
from runtime.store import FeatureStore
from tests.fixtures.edge_runtime import RuntimeProcess, build_example_model, deployment, runtime_config, setup_streams
from tests.fixtures.nats import NatsServer
from tests.integration.runtime.helpers import (
    example_records,
    expected_scores,
    expected_windows,
    publish_records,
    read_all,
    results_at_least,
    subject_count,
    wait_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

N = 10_000
P = 6
MODEL = "fraud-scoring"
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
    state = {"stream": "STATE", "subject": "state.fraud-scoring.stable", "flush_interval_ms": 200}
    partitions = {"count": P, "replicas": replicas, "lease_ttl_ms": 6000, "lease_renew_ms": 500}
    procs = []
    for ordinal in range(replicas):
        work = tmp_path / f"replica-{ordinal}"
        proc = RuntimeProcess(work / "runtime.json", work / "runtime.log", env={"EDGEOPS_ORDINAL": f"rt-{ordinal}"})
        build_example_model(MODEL, work / "models")
        doc = runtime_config(proc.config_path, partitioned_nats.url,
                             [deployment(MODEL, digest, window_doc, input_subject="in.tx", state=state,
                                         partitions=partitions)], work)  # fmt: skip
        doc["feature_store"]["path"] = str(work / "state" / "features.duckdb")
        proc.config_path.write_text(json.dumps(doc))
        procs.append(proc)
    records = example_records(MODEL, seed=23, count=N, keys=200)

    nc = await nats.connect(partitioned_nats.url)
    js = nc.jetstream()
    try:
        await setup_streams(js, state=True)
        for p in range(P):
            await js.add_consumer("IN", ConsumerConfig(
                durable_name=f"{MODEL}-stable-p{p}", filter_subject=f"in.tx.stable.direct.{p}.*",
                ack_policy=AckPolicy.EXPLICIT, ack_wait=30, max_ack_pending=50_000, max_deliver=-1,
            ))  # fmt: skip
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

        async def fully_acked() -> bool:
            for p in range(P):
                info = await js.consumer_info("IN", f"{MODEL}-stable-p{p}")
                if info.num_pending or info.num_ack_pending:
                    return False
            return True

        await wait_for(fully_acked, 180, "every partition fully acked", procs[0].log_tail)
        logs = []
        for proc in procs:
            logs.append(proc.log_path.read_text())
            assert proc.terminate() == 0, proc.log_tail()

        results = await read_all(js, "OUT", "out.results", N)
        bodies = [json.loads(m.data) for m in results]
        assert len(results) == N
        assert {b["input_id"] for b in bodies} == {f"tx-{i}" for i in range(N)}
        expected = expected_scores(model_path, window, records)
        got = np.asarray([b["score"] for b in sorted(bodies, key=lambda b: int(b["input_id"].split("-")[1]))])
        np.testing.assert_allclose(got, expected, atol=1e-5, rtol=1e-4)
        assert await subject_count(js, "OUT", "out.dlq") == 0
    finally:
        await nc.close()
        for proc in procs:
            proc.kill()  # a no-op once terminated; a failed run leaves no process behind
    if disrupt:
        assert "windows restored from the changelog" in logs[1]

    # Each key's window is whole, in the file of the one replica that owns its partition.
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
