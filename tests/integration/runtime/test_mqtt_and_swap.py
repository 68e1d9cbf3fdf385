"""`edgeops serve` with a second source and live config changes, against real nats-server and mosquitto:
- MQTT 5 QoS 2: records published to mosquitto go through the same pipeline (results on the JetStream
  result subject with ids from the `msg-id` user property; garbage dead-lettered);
- model swap: while records stream in, runtime.json moves to a new version (new digest) and then to a version
  whose artifact is broken: every input gets exactly one result, the first swap takes effect, the broken
  one is refused (load-failure counter) and the previous model keeps serving;
- a structural change (batching) drains and restarts the service inside the same process, losing nothing."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import nats
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from tests.fixtures.edge_runtime import RuntimeProcess, build_example_model, deployment, runtime_config, setup_streams
from tests.fixtures.mosquitto import MosquittoBroker
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


def _mqtt_publish(url: str, topic: str, payloads: list[tuple[str, bytes]]) -> None:
    port = int(url.rsplit(":", 1)[1])
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-producer", protocol=mqtt.MQTTv5)
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        infos = []
        for msg_id, payload in payloads:
            props = Properties(PacketTypes.PUBLISH)
            props.UserProperty = [("msg-id", msg_id), ("Edgeops-Sensor-Ts", repr(time.time()))]
            infos.append(client.publish(topic, payload, qos=2, properties=props))
        for info in infos:
            info.wait_for_publish(timeout=30)
    finally:
        client.disconnect()
        client.loop_stop()


async def test_mqtt_qos2_source_feeds_the_same_pipeline(
    tmp_path: Path, nats_server: NatsServer, mosquitto_broker: MosquittoBroker, runtime_process: RuntimeProcess
) -> None:
    _, digest, window = build_example_model(MODEL, tmp_path / "models")
    mqtt_source = {"url": mosquitto_broker.url, "topic": "sensors/#", "client_id": "edge-runtime-test"}
    runtime_config(runtime_process.config_path, nats_server.url,
                   [deployment(MODEL, digest, window, input_subject="in.sensor", mqtt=mqtt_source)], tmp_path)  # fmt: skip
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    try:
        await setup_streams(js, durables={f"{MODEL}-stable": "in.sensor"})
        runtime_process.start()
        records = example_records(MODEL, seed=9, count=300, keys=6)
        payloads = [(f"mq-{i}", json.dumps(r).encode()) for i, r in enumerate(records)]
        payloads.append(("mq-bad", b"{broken"))
        await asyncio.to_thread(_mqtt_publish, mosquitto_broker.url, "sensors/line-1", payloads)

        await wait_for(lambda: results_at_least(js, "out.results", 300), 60, "MQTT results", runtime_process.log_tail)
        await wait_for(lambda: results_at_least(js, "out.dlq", 1), 60, "MQTT dead letter", runtime_process.log_tail)
        results = await read_all(js, "OUT", "out.results", 300)
        assert sorted(json.loads(m.data)["input_id"] for m in results) == sorted(f"mq-{i}" for i in range(300))
        (dead,) = await read_all(js, "OUT", "out.dlq", 1)
        assert dead.headers["Edgeops-Dead-Letter-Reason"] == "invalid_json"
        assert dead.headers["Edgeops-Source"] == "sensors/line-1"
        assert runtime_process.terminate() == 0
    finally:
        await nc.close()


async def test_config_change_swaps_model_without_loss_and_keeps_old_on_failure(
    tmp_path: Path, nats_server: NatsServer, runtime_process: RuntimeProcess
) -> None:
    # v1 sits in the runtime's model cache; the later versions are delivered as `artifact.local_path` files
    # (the cache only keeps what is configured or serving, so files dropped there early would be pruned).
    _, digest_v1, window = build_example_model(MODEL, tmp_path / "models")
    path_v2, digest_v2, _ = build_example_model(MODEL, tmp_path / "staged", doc_suffix="v2")
    broken = tmp_path / "staged" / "broken.onnx"
    broken.write_bytes(b"not an onnx model")
    digest_broken = "sha256:" + hashlib.sha256(broken.read_bytes()).hexdigest()
    assert digest_v1 != digest_v2

    def write(version: str, digest: str) -> None:
        runtime_config(runtime_process.config_path, nats_server.url,
                       [deployment(MODEL, digest, window, version=version, input_subject="in.sensor")], tmp_path)  # fmt: skip

    write("1.0.0", digest_v1)
    port = runtime_process.metrics_port
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    try:
        await setup_streams(js, durables={f"{MODEL}-stable": "in.sensor"})
        runtime_process.start()
        records = example_records(MODEL, seed=13, count=1500, keys=10)

        async def metrics() -> str:
            return (await asyncio.to_thread(runtime_process.http, "/metrics"))[1]

        def rewrite(version: str, digest: str, local_path: Path) -> None:
            doc = json.loads(runtime_process.config_path.read_text())
            doc["models"][0]["version"] = version
            doc["models"][0]["artifact"].update(digest=digest, local_path=str(local_path))
            doc["metrics_port"] = port
            runtime_process.config_path.write_text(json.dumps(doc))

        await publish_records(js, "in.sensor", records[:500], id_prefix="a")
        rewrite("1.1.0", digest_v2, path_v2)
        await wait_for(lambda: _has(metrics, 'version="1.1.0"'), 60, "the swap to 1.1.0", runtime_process.log_tail)
        await publish_records(js, "in.sensor", records[500:1000], id_prefix="b")
        rewrite("1.2.0", digest_broken, broken)
        await wait_for(lambda: _has(metrics, "edgeops_model_load_failures_total{"), 60, "the refused load",
                       runtime_process.log_tail)  # fmt: skip
        await publish_records(js, "in.sensor", records[1000:], id_prefix="c")

        await wait_for(lambda: results_at_least(js, "out.results", 1500), 90, "all results", runtime_process.log_tail)
        results = [json.loads(m.data) for m in await read_all(js, "OUT", "out.results", 1500)]
        assert len(results) == 1500
        assert len({r["id"] for r in results}) == 1500
        versions = {r["version"] for r in results}
        assert versions <= {"1.0.0", "1.1.0"}
        assert "1.1.0" in versions
        assert {r["version"] for r in results if r["input_id"].startswith("c-")} == {"1.1.0"}
        assert runtime_process.http("/readyz")[0] == 200
        assert runtime_process.terminate() == 0
    finally:
        await nc.close()


async def _has(fetch: Any, needle: str) -> bool:
    return needle in await fetch()


async def test_structural_config_change_restarts_in_process_without_loss(
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
        records = example_records(MODEL, seed=17, count=1000, keys=10)
        await publish_records(js, "in.sensor", records[:500], id_prefix="a")
        doc = json.loads(runtime_process.config_path.read_text())
        doc["models"][0]["batching"] = {"max_batch_size": 8, "max_latency_ms": 0.5}
        runtime_process.config_path.write_text(json.dumps(doc))

        async def restarted() -> bool:
            return "draining and restarting" in runtime_process.log_tail(400)

        await wait_for(restarted, 60, "the in-process restart", runtime_process.log_tail)
        await publish_records(js, "in.sensor", records[500:], id_prefix="b")
        await wait_for(lambda: results_at_least(js, "out.results", 1000), 90, "all results", runtime_process.log_tail)
        results = [json.loads(m.data) for m in await read_all(js, "OUT", "out.results", 1000)]
        assert len(results) == len({r["id"] for r in results}) == 1000
        assert runtime_process.http("/readyz")[0] == 200
        assert runtime_process.process is not None
        assert runtime_process.process.poll() is None  # same process
        assert runtime_process.terminate() == 0
    finally:
        await nc.close()
