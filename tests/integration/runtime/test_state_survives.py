"""State that survives losing the disk, against a real nats-server and real runtime processes.

(a) 10,000 fraud-scoring records over 200 cards, the runtime SIGKILLed twice midway: once its state directory is
deleted before it restarts (a pod rescheduled onto another node), once its DuckDB file is overwritten with garbage
(set aside with a log line, never a crash). Its windows come back from the changelog stream: exactly 10,000 results,
every score equal to an uninterrupted run's, and the file's windows equal an uninterrupted run's at the end.
(b) A runtime killed after publishing every result but before acking any, and down longer than the result
stream's duplicate window (shortened to 1 s here; 2 minutes as rendered): its restart publishes no second result.
(c) A runtime on an empty disk whose changelog stream does not exist yet waits for it, scoring nothing, and then
serves every record once.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.js.api import StorageType, StreamConfig

from runtime.config import WindowConfig
from tests.fixtures.edge_runtime import RuntimeProcess, build_example_model, deployment, runtime_config, setup_streams
from tests.fixtures.nats import NatsServer
from tests.integration.runtime.helpers import (
    assert_one_result_each,
    assert_windows_equal,
    example_records,
    publish_records,
    results_at_least,
    subject_count,
    wait_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MODEL = "fraud-scoring"
DURABLE = "fraud-scoring-stable"
STATE = {"stream": "STATE", "subject": "state.fraud-scoring.stable", "flush_interval_ms": 200}


async def _fully_acked(js: Any) -> bool:
    consumer = await js.consumer_info("IN", DURABLE)
    return bool(consumer.num_pending == 0 and consumer.num_ack_pending == 0)


async def test_state_directory_lost_or_corrupt_restores_windows_from_the_changelog(
    tmp_path: Path, nats_server: NatsServer, runtime_process: RuntimeProcess
) -> None:
    n = 10_000
    model_path, digest, window_doc = build_example_model(MODEL, tmp_path / "models")
    window = WindowConfig.model_validate(window_doc, strict=False)
    state_dir = tmp_path / "state"
    runtime_config(runtime_process.config_path, nats_server.url,
                   [deployment(MODEL, digest, window_doc, input_subject="in.tx", state=STATE)], tmp_path)  # fmt: skip
    doc = json.loads(runtime_process.config_path.read_text())
    doc["feature_store"]["path"] = str(state_dir / "features.duckdb")
    runtime_process.config_path.write_text(json.dumps(doc))
    records = example_records(MODEL, seed=13, count=n, keys=200)

    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    try:
        await setup_streams(js, durables={DURABLE: "in.tx"}, state=True)
        await publish_records(js, "in.tx", records, id_prefix="tx")
        runtime_process.start()
        seen = []
        for threshold, lose in ((3000, "deleted"), (6500, "corrupt")):
            await wait_for(lambda t=threshold: results_at_least(js, "out.results", t), 120, f"{threshold} results",
                           runtime_process.log_tail)  # fmt: skip
            seen.append(await subject_count(js, "OUT", "out.results"))
            runtime_process.kill()
            await asyncio.sleep(0.5)  # the writer process exits once its pipe closes
            if lose == "deleted":
                for path in state_dir.iterdir():
                    path.unlink()
                state_dir.rmdir()
            else:
                (state_dir / "features.duckdb").write_bytes(b"not a database" * 4096)
            runtime_process.start()
        assert all(0 < s < n for s in seen), seen
        await wait_for(lambda: _fully_acked(js), 180, "the consumer to be fully acked", runtime_process.log_tail)
        log = runtime_process.log_path.read_text()
        assert runtime_process.terminate() == 0, runtime_process.log_tail()
        await assert_one_result_each(js, model_path, window, records)
    finally:
        await nc.close()
    assert log.count("windows restored from the changelog") == 2
    assert "is unreadable" in log
    assert "moved aside" in log
    assert len(list(state_dir.glob("features.duckdb.corrupt-*[0-9]"))) == 1
    assert_windows_equal(state_dir / "features.duckdb", f"{MODEL}.stable", window, records)


async def test_restart_after_the_duplicate_window_publishes_no_second_result(
    tmp_path: Path, nats_server: NatsServer, runtime_process: RuntimeProcess
) -> None:
    n = 2000
    model_path, digest, window_doc = build_example_model(MODEL, tmp_path / "models")
    window = WindowConfig.model_validate(window_doc, strict=False)
    models = [deployment(MODEL, digest, window_doc, input_subject="in.tx")]
    # The first checkpoint, which acks, comes a minute after the start: every input stays unacked.
    runtime_config(runtime_process.config_path, nats_server.url, models, tmp_path, flush_interval_ms=60_000)
    records = example_records(MODEL, seed=17, count=n, keys=200)

    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    try:
        await setup_streams(js, durables={DURABLE: "in.tx"}, duplicate_window_s=1.0, ack_wait_s=30)
        await publish_records(js, "in.tx", records, id_prefix="tx")
        runtime_process.start()
        await wait_for(lambda: results_at_least(js, "out.results", n), 120, f"{n} results", runtime_process.log_tail)
        runtime_process.kill()
        assert (await js.consumer_info("IN", DURABLE)).ack_floor.stream_seq == 0
        await asyncio.sleep(2.5)  # past the duplicate window: JetStream would take a second copy now

        runtime_config(runtime_process.config_path, nats_server.url, models, tmp_path, flush_interval_ms=100)
        runtime_process.start()
        await wait_for(lambda: _fully_acked(js), 120, "the consumer to be fully acked", runtime_process.log_tail)
        log = runtime_process.log_path.read_text()
        assert runtime_process.terminate() == 0, runtime_process.log_tail()
        await assert_one_result_each(js, model_path, window, records)
    finally:
        await nc.close()
    assert f"({n} already answered)" in log


async def test_a_changelog_stream_not_created_yet_is_waited_for_before_consuming(
    tmp_path: Path, nats_server: NatsServer, runtime_process: RuntimeProcess
) -> None:
    n = 200
    model_path, digest, window_doc = build_example_model(MODEL, tmp_path / "models")
    window = WindowConfig.model_validate(window_doc, strict=False)
    runtime_config(runtime_process.config_path, nats_server.url,
                   [deployment(MODEL, digest, window_doc, input_subject="in.tx", state=STATE)], tmp_path)  # fmt: skip
    records = example_records(MODEL, seed=19, count=n, keys=20)

    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    try:
        await setup_streams(js, durables={DURABLE: "in.tx"})  # no STATE stream: the reconciler has not made it yet
        await publish_records(js, "in.tx", records, id_prefix="tx")
        runtime_process.start(wait_ready=False)
        await wait_for(lambda: asyncio.to_thread(lambda: "not readable" in runtime_process.log_tail()), 60,
                       "the runtime to wait for its changelog", runtime_process.log_tail)  # fmt: skip
        assert runtime_process.http("/readyz")[0] != 200
        assert await subject_count(js, "OUT", "out.results") == 0  # nothing scored over empty windows
        await js.add_stream(
            StreamConfig(name="STATE", subjects=["state.>"], storage=StorageType.FILE, max_msgs_per_subject=1)
        )
        runtime_process.wait_ready()
        await wait_for(lambda: _fully_acked(js), 60, "the consumer to be fully acked", runtime_process.log_tail)
        assert runtime_process.terminate() == 0, runtime_process.log_tail()
        await assert_one_result_each(js, model_path, window, records)
    finally:
        await nc.close()
