"""`edgeops serve` on bad input and per-track routing, against a real nats-server:
- garbage payloads (invalid JSON, non-UTF-8, a JSON array, a string amount, a list amount, NaN, Infinity, a
  missing key field, an oversized message) each go to the dead-letter subject with their reason header and the
  original bytes, interleaved good records still get results, and the process stays healthy;
- a shadow deployment publishes only to the shadow subject, never to production results;
- the HTTP endpoints: /healthz and /readyz answer 200, /metrics has the documented series with zone, model,
  version, track and provider labels."""

from __future__ import annotations

import json
from pathlib import Path

import nats
import pytest

from tests.fixtures.edge_runtime import RuntimeProcess, build_example_model, deployment, runtime_config, setup_streams
from tests.fixtures.nats import NatsServer
from tests.integration.runtime.helpers import (
    example_records,
    publish_records,
    read_all,
    results_at_least,
    wait_for,
)

pytestmark = pytest.mark.integration

MODEL = "sensor-anomaly"
GOOD = {"device_id": "d1", "ts": 1.0, "temperature": 40.0, "vibration": 0.5, "current": 10.0}

GARBAGE: list[tuple[bytes, str]] = [
    (b"{not json", "invalid_json"),
    (b"\xff\xfe\x00garbage", "invalid_json"),
    (b"[1, 2, 3]", "not_an_object"),
    (json.dumps({**GOOD, "temperature": "hot"}).encode(), "wrong_type"),
    (json.dumps({**GOOD, "vibration": [0.1, 0.2]}).encode(), "wrong_type"),
    (b'{"device_id": "d1", "ts": 1, "temperature": NaN, "vibration": 0.5, "current": 10}', "non_finite"),
    (b'{"device_id": "d1", "ts": 1, "temperature": 1, "vibration": Infinity, "current": 10}', "non_finite"),
    (json.dumps({k: v for k, v in GOOD.items() if k != "device_id"}).encode(), "missing_field"),
    (json.dumps({**GOOD, "padding": "x" * 70_000}).encode(), "oversized"),
]


async def test_garbage_goes_to_dead_letter_with_reason_and_serving_continues(
    tmp_path: Path, nats_server: NatsServer, runtime_process: RuntimeProcess
) -> None:
    _, digest, window = build_example_model(MODEL, tmp_path / "models")
    runtime_config(runtime_process.config_path, nats_server.url,
                   [deployment(MODEL, digest, window, input_subject="in.sensor")], tmp_path)  # fmt: skip
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    try:
        await setup_streams(js, durables={f"{MODEL}-stable": "in.sensor"})
        runtime_process.start()
        good = example_records(MODEL, seed=3, count=40, keys=4)
        for i, (payload, _) in enumerate(GARBAGE):
            await publish_records(js, "in.sensor", good[i * 4 : i * 4 + 4], id_prefix=f"good{i}")
            await js.publish("in.sensor", payload, headers={"Nats-Msg-Id": f"bad-{i}"})
        await publish_records(js, "in.sensor", good[36:], id_prefix="tail")

        await wait_for(
            lambda: results_at_least(js, "out.dlq", len(GARBAGE)), 60, "dead letters", runtime_process.log_tail
        )
        await wait_for(lambda: results_at_least(js, "out.results", 40), 60, "results", runtime_process.log_tail)
        dead = await read_all(js, "OUT", "out.dlq", len(GARBAGE))
        by_id = {m.headers["Edgeops-Source"] + "|" + m.headers["Nats-Msg-Id"]: m for m in dead}
        assert len(by_id) == len(GARBAGE)
        for i, (payload, reason) in enumerate(GARBAGE):
            msg = by_id[f"in.sensor|{MODEL}.stable:dlq:bad-{i}"]
            assert msg.headers["Edgeops-Dead-Letter-Reason"] == reason, msg.headers
            assert msg.headers["Edgeops-Dead-Letter-Detail"]
            assert msg.data == payload
        assert runtime_process.process is not None
        assert runtime_process.process.poll() is None
        assert runtime_process.http("/healthz")[0] == 200
        metrics = runtime_process.http("/metrics")[1]
        assert 'edgeops_dead_letters_total{model="sensor-anomaly",provider="cpu",reason="non_finite"' in metrics
        assert runtime_process.terminate() == 0
    finally:
        await nc.close()


async def test_shadow_track_publishes_only_to_shadow_and_exposes_metrics(
    tmp_path: Path, nats_server: NatsServer, runtime_process: RuntimeProcess
) -> None:
    _, digest, window = build_example_model(MODEL, tmp_path / "models")
    deployments = [
        deployment(MODEL, digest, window, track="stable", input_subject="in.sensor"),
        deployment(MODEL, digest, window, track="shadow", version="2.0.0-rc1", input_subject="in.sensor"),
    ]
    runtime_config(runtime_process.config_path, nats_server.url, deployments, tmp_path)
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    try:
        # Both deployments read every input through their own durable consumer.
        await setup_streams(js, durables={f"{MODEL}-stable": "in.sensor", f"{MODEL}-shadow": "in.sensor"})
        runtime_process.start()
        assert runtime_process.http("/readyz")[0] == 200
        await publish_records(js, "in.sensor", example_records(MODEL, seed=5, count=200, keys=5))
        await wait_for(lambda: results_at_least(js, "out.shadow", 200), 60, "shadow results", runtime_process.log_tail)
        await wait_for(lambda: results_at_least(js, "out.results", 200), 60, "stable results", runtime_process.log_tail)
        results = await read_all(js, "OUT", "out.results", 200)
        shadow = await read_all(js, "OUT", "out.shadow", 200)
        assert {json.loads(m.data)["track"] for m in results} == {"stable"}
        assert {json.loads(m.data)["track"] for m in shadow} == {"shadow"}
        assert len(results) == len(shadow) == 200

        metrics = runtime_process.http("/metrics")[1]
        labels = 'model="sensor-anomaly",provider="cpu",track="shadow",version="2.0.0-rc1",zone="test-zone"'
        for series in ("edgeops_inference_e2e_seconds_bucket", "edgeops_requests_total", "edgeops_results_total"):
            assert f"{series}{{" in metrics
        assert f"edgeops_requests_total{{{labels}}} 200.0" in metrics
        assert f"edgeops_inference_e2e_seconds_count{{{labels}}} 200.0" in metrics
        assert 'le="0.005"' in metrics
        assert 'le="0.03"' in metrics
        for stage in ("queue_wait", "features", "inference", "publish"):
            assert f'stage="{stage}"' in metrics
        assert runtime_process.terminate() == 0
    finally:
        await nc.close()
