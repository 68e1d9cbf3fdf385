"""Exactly-once effect of `edgeops serve` against a real nats-server, 10,000 fraud-scoring records over 200
cards: (a) the runtime SIGKILLed twice midway and restarted, (b) nats-server restarted midway, (c) the runtime
stopped with SIGTERM midway (it must drain and exit 0) and restarted. Each run must
end with exactly 10,000 results, no duplicate ids, every score equal to an uninterrupted run's (shared
feature code + onnxruntime over the same records), the consumer fully acked, a clean SIGTERM exit (0), and
the DuckDB windows equal to an uninterrupted run's windows."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import nats
import numpy as np
import pytest

from runtime.config import WindowConfig
from tests.fixtures.edge_runtime import RuntimeProcess, build_example_model, deployment, runtime_config, setup_streams
from tests.fixtures.nats import NatsServer
from tests.integration.runtime.helpers import (
    assert_windows_equal,
    example_records,
    expected_scores,
    publish_records,
    read_all,
    results_at_least,
    subject_count,
    wait_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

N = 10_000
MODEL = "fraud-scoring"
DURABLE = "fraud-scoring-stable"


async def _run_with_disruptions(
    tmp_path: Path, server: NatsServer, proc: RuntimeProcess,
    disrupt: Callable[[int], None], thresholds: tuple[int, ...],
) -> None:  # fmt: skip
    model_path, digest, window_doc = build_example_model(MODEL, tmp_path / "models")
    window = WindowConfig.model_validate(window_doc, strict=False)
    runtime_config(proc.config_path, server.url, [deployment(MODEL, digest, window_doc, input_subject="in.tx")],
                   tmp_path)  # fmt: skip
    records = example_records(MODEL, seed=11, count=N, keys=200)
    assert len(records) == N

    nc = await nats.connect(server.url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    js = nc.jetstream()
    try:
        await setup_streams(js, durables={DURABLE: "in.tx"})
        await publish_records(js, "in.tx", records, id_prefix="tx")
        info = await js.stream_info("IN")
        assert (info.state.first_seq, info.state.last_seq) == (1, N)

        proc.start()
        seen_at_disruption = []
        for step, threshold in enumerate(thresholds):
            await wait_for(
                lambda t=threshold: results_at_least(js, "out.results", t), 120, f"{threshold} results", proc.log_tail
            )
            seen_at_disruption.append(await subject_count(js, "OUT", "out.results"))
            disrupt(step)
        # Disruptions happened midway, not after the work was done.
        assert all(0 < seen < N for seen in seen_at_disruption), seen_at_disruption

        async def fully_acked() -> bool:
            consumer = await js.consumer_info("IN", DURABLE)
            return consumer.num_pending == 0 and consumer.num_ack_pending == 0

        await wait_for(fully_acked, 180, "the consumer to be fully acked", proc.log_tail)
        assert proc.terminate() == 0, proc.log_tail()

        results = await read_all(js, "OUT", "out.results", N)
        ids = [m.headers["Nats-Msg-Id"] for m in results]
        assert len(results) == N
        assert len(set(ids)) == N
        bodies = [json.loads(m.data) for m in results]
        assert {b["input_id"] for b in bodies} == {f"tx-{i}" for i in range(N)}
        assert all(m.headers["Nats-Msg-Id"] == b["id"] for m, b in zip(results, bodies, strict=True))

        expected = expected_scores(model_path, window, records)
        got = np.asarray([b["score"] for b in sorted(bodies, key=lambda b: int(b["input_id"].split("-")[1]))])
        np.testing.assert_allclose(got, expected, atol=1e-5, rtol=1e-4)
    finally:
        await nc.close()

    assert_windows_equal(tmp_path / "features.duckdb", f"{MODEL}.stable", window, records)


async def test_runtime_killed_twice_gives_exactly_one_result_per_input(
    tmp_path: Path, nats_server: NatsServer, runtime_process: RuntimeProcess
) -> None:
    def kill_and_restart(_: int) -> None:
        runtime_process.kill()
        runtime_process.start()

    await _run_with_disruptions(tmp_path, nats_server, runtime_process, kill_and_restart, (2500, 6000))
    assert runtime_process.starts == 3


async def test_nats_server_restart_midway_gives_exactly_one_result_per_input(
    tmp_path: Path, nats_server: NatsServer, runtime_process: RuntimeProcess
) -> None:
    await _run_with_disruptions(tmp_path, nats_server, runtime_process, lambda _: nats_server.restart(), (4000,))
    assert runtime_process.starts == 1


async def test_sigterm_midway_drains_and_exits_cleanly(
    tmp_path: Path, nats_server: NatsServer, runtime_process: RuntimeProcess
) -> None:
    def drain_and_restart(_: int) -> None:
        assert runtime_process.terminate(timeout=30) == 0, runtime_process.log_tail()
        runtime_process.start()

    await _run_with_disruptions(tmp_path, nats_server, runtime_process, drain_and_restart, (5000,))
    assert runtime_process.starts == 2
