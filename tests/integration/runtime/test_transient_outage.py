"""Transient is not terminal, against a real nats-server and `edgeops serve`, with a consumer far stricter than the
rendered one (ack wait 3 s, max deliver 2):
- a 60 s model outage (runtime.json moves to a version whose model loads and warms up but fails every real batch,
  then back to the good one; a runtime that NAKed the failing batches would have them dropped within seconds);
- a 15 s disk stall (the feature store's writer process stopped with SIGSTOP while records keep coming: results
  are published but the acks wait for a checkpoint, and fetching goes on, so without in-progress acks JetStream
  would redeliver them).
Nothing is redelivered, dropped or dead-lettered; every record has exactly one result, scored as in an
uninterrupted run."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import time
from pathlib import Path
from typing import Any

import nats
import numpy as np
import pytest
from nats.js.api import AckPolicy, ConsumerConfig

from runtime.config import WindowConfig
from tests.fixtures.edge_runtime import (
    RuntimeProcess,
    build_example_model,
    build_failing_model,
    deployment,
    runtime_config,
    setup_streams,
)
from tests.fixtures.nats import NatsServer
from tests.integration.runtime.helpers import (
    example_records,
    expected_scores,
    publish_records,
    read_all,
    subject_count,
    wait_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MODEL = "sensor-anomaly"
DURABLE = f"{MODEL}-stable"
OUTAGE_S = 60
N = 300


async def test_a_model_outage_of_a_minute_drops_and_dead_letters_nothing(
    tmp_path: Path, nats_server: NatsServer, runtime_process: RuntimeProcess
) -> None:
    model_path, digest, window_doc = build_example_model(MODEL, tmp_path / "models")
    window = WindowConfig.model_validate(window_doc, strict=False)
    # The later artifacts come as `local_path` files: the model cache keeps only what is configured or serving.
    failing_path, failing_digest = build_failing_model(tmp_path / "staged", len(window.features))
    good_again = tmp_path / "staged" / "good.onnx"
    shutil.copyfile(model_path, good_again)
    runtime_config(runtime_process.config_path, nats_server.url,
                   [deployment(MODEL, digest, window_doc, input_subject="in.sensor")], tmp_path)  # fmt: skip
    port = runtime_process.metrics_port

    def serve(version: str, digest: str, path: Path) -> None:
        doc = json.loads(runtime_process.config_path.read_text())
        doc["models"][0]["version"] = version
        doc["models"][0]["artifact"].update(digest=digest, local_path=str(path))
        doc["metrics_port"] = port
        runtime_process.config_path.write_text(json.dumps(doc))

    async def serving(version: str) -> bool:
        metrics = (await asyncio.to_thread(runtime_process.http, "/metrics"))[1]
        return any(f'version="{version}"' in line and line.endswith(" 1.0")
                   for line in metrics.splitlines() if line.startswith("edgeops_model_info{"))  # fmt: skip

    records = example_records(MODEL, seed=17, count=N, keys=6)
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    try:
        await setup_streams(js)
        await _strict_consumer(js)
        runtime_process.start()
        await publish_records(js, "in.sensor", records[:50], id_prefix="before")
        await wait_for(lambda: _results(js, 50), 60, "results before the outage", runtime_process.log_tail)

        serve("2.0.0-broken", failing_digest, failing_path)
        await wait_for(lambda: serving("2.0.0-broken"), 60, "the failing model swapped in", runtime_process.log_tail)
        await publish_records(js, "in.sensor", records[50:], id_prefix="during")
        outage_ends = time.monotonic() + OUTAGE_S
        while time.monotonic() < outage_ends:
            consumer = await js.consumer_info("IN", DURABLE)
            assert consumer.num_redelivered == 0, consumer
            assert await subject_count(js, "OUT", "out.dlq") == 0
            assert await subject_count(js, "OUT", "out.results") == 50
            await asyncio.sleep(2)
        assert "inference failed" in runtime_process.log_tail(200)

        serve("1.0.0", digest, good_again)  # the rollback
        await wait_for(lambda: _results(js, N), 90, "every result after the outage", runtime_process.log_tail)

        async def fully_acked() -> bool:
            consumer = await js.consumer_info("IN", DURABLE)
            return bool(consumer.num_pending == 0 and consumer.num_ack_pending == 0)

        await wait_for(fully_acked, 60, "every input acked", runtime_process.log_tail)
        consumer = await js.consumer_info("IN", DURABLE)
        assert consumer.num_redelivered == 0
        assert await subject_count(js, "OUT", "out.dlq") == 0
        assert runtime_process.starts == 1
        assert runtime_process.terminate() == 0, runtime_process.log_tail()

        bodies = [json.loads(m.data) for m in await read_all(js, "OUT", "out.results", N)]
        by_id = {b["input_id"]: b for b in bodies}
        assert len(bodies) == len(by_id) == N
        ids = [f"before-{i}" for i in range(50)] + [f"during-{i}" for i in range(N - 50)]
        assert {by_id[i]["version"] for i in ids} == {"1.0.0"}
        got = np.asarray([by_id[i]["score"] for i in ids])
        np.testing.assert_allclose(got, expected_scores(model_path, window, records), atol=1e-6, rtol=1e-5)
    finally:
        await nc.close()


async def _results(js: Any, count: int) -> bool:
    return await subject_count(js, "OUT", "out.results") >= count


async def test_a_stalled_disk_redelivers_drops_and_dead_letters_nothing(
    tmp_path: Path, nats_server: NatsServer, runtime_process: RuntimeProcess
) -> None:
    model_path, digest, window_doc = build_example_model(MODEL, tmp_path / "models")
    window = WindowConfig.model_validate(window_doc, strict=False)
    runtime_config(runtime_process.config_path, nats_server.url,
                   [deployment(MODEL, digest, window_doc, input_subject="in.sensor")], tmp_path)  # fmt: skip
    records = example_records(MODEL, seed=19, count=N, keys=6)
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    try:
        await setup_streams(js)
        await _strict_consumer(js)
        runtime_process.start()
        await publish_records(js, "in.sensor", records[:50], id_prefix="r")
        await wait_for(lambda: _results(js, 50), 60, "results before the stall", runtime_process.log_tail)

        # The writer process starts with the first checkpoint, which may come a moment after the first results.
        async def writer_started() -> bool:
            return bool(_writer_pids(tmp_path / "features.duckdb"))

        await wait_for(writer_started, 30, "the DuckDB writer process", runtime_process.log_tail)
        (writer,) = _writer_pids(tmp_path / "features.duckdb")
        os.kill(writer, signal.SIGSTOP)
        try:
            for start in range(50, N, 50):  # records keep coming: fetching goes on, the acks wait
                await publish_records(js, "in.sensor", records[start : start + 50], id_prefix=f"r{start}")
                await asyncio.sleep(15 / (N // 50))
            await wait_for(lambda: _results(js, N), 30, "results during the stall", runtime_process.log_tail)
            consumer = await js.consumer_info("IN", DURABLE)
            assert consumer.num_ack_pending > 0  # the stall is real: nothing since it began is acked
            assert consumer.num_redelivered == 0
        finally:
            os.kill(writer, signal.SIGCONT)

        async def fully_acked() -> bool:
            consumer = await js.consumer_info("IN", DURABLE)
            return bool(consumer.num_pending == 0 and consumer.num_ack_pending == 0)

        await wait_for(fully_acked, 60, "every input acked", runtime_process.log_tail)
        consumer = await js.consumer_info("IN", DURABLE)
        assert consumer.num_redelivered == 0
        assert await subject_count(js, "OUT", "out.dlq") == 0
        assert runtime_process.terminate() == 0, runtime_process.log_tail()
        bodies = [json.loads(m.data) for m in await read_all(js, "OUT", "out.results", N)]
        assert len(bodies) == len({b["input_id"] for b in bodies}) == N
        order = {f"r{start or ''}-{i}": start + i for start in range(0, N, 50) for i in range(50)}
        got = np.asarray([b["score"] for b in sorted(bodies, key=lambda b: order[b["input_id"]])])
        np.testing.assert_allclose(got, expected_scores(model_path, window, records), atol=1e-6, rtol=1e-5)
    finally:
        await nc.close()


async def _strict_consumer(js: Any) -> None:
    await js.add_consumer(
        "IN",
        ConsumerConfig(durable_name=DURABLE, filter_subject="in.sensor", ack_policy=AckPolicy.EXPLICIT,
                       ack_wait=3.0, max_deliver=2, max_ack_pending=50_000),
    )  # fmt: skip


def _writer_pids(db_path: Path) -> list[int]:
    """The feature store's writer processes of this runtime: those running `serve_writes` on its DuckDB file."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:  # not a process, or gone
            continue
        if any(b"serve_writes" in a for a in argv) and str(db_path).encode() in argv:
            found.append(int(proc.name))
    return found
