"""No input crashes `edgeops serve`, against a real nats-server (max_payload 16 MB, so a 10 MB message reaches it):
the named hostile corpus (`tests.fixtures.hostile_records`: huge and tiny numbers, huge integers, deep and 10 MB
JSON, non-UTF-8, wrong types, missing and duplicate members, NaN/Inf, bad keys) interleaved with good records on the
same keys, plus unusual-but-valid records and good records with hostile headers (a 1,000-character id, a garbage
traceparent and sensor times). The process stays up (one start, same PID); every hostile record is
dead-lettered once with its reason and its bytes, and acked; every good record has exactly one result, scored as a
run without the hostile records; after a restart the windows restored from DuckDB give the same scores to newer
records and equal the windows of the good records alone. A record on a subject that is not UTF-8 is scored like
any other and the consumer keeps going."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import nats
import numpy as np
import pytest

from runtime.config import WindowConfig
from runtime.features import Row, record_key, record_values
from runtime.pipeline import input_id
from runtime.store import FeatureStore
from tests.fixtures.edge_runtime import RuntimeProcess, build_example_model, deployment, runtime_config, setup_streams
from tests.fixtures.hostile_records import EDGE_VALID, HOSTILE
from tests.fixtures.nats import NatsServer
from tests.integration.runtime.helpers import (
    example_records,
    expected_scores,
    publish_records,
    read_all,
    results_at_least,
    wait_for,
)

pytestmark = pytest.mark.integration

MODEL = "sensor-anomaly"
DURABLE = f"{MODEL}-stable"
HOSTILE_HEADERS: list[dict[str, str]] = [
    {"Nats-Msg-Id": "x" * 1000},  # made unique per record: the input stream drops a repeated id
    {"traceparent": "00-not-a-trace"},
    {"Edgeops-Sensor-Ts": "nan"},
    {"Edgeops-Sensor-Ts": "1e999"},
    {"Edgeops-Sensor-Ts": "-1"},
]


async def test_hostile_corpus_is_dead_lettered_and_good_records_score_as_without_it(
    tmp_path: Path, nats_server_factory: Any, runtime_process: RuntimeProcess
) -> None:
    server: NatsServer = nats_server_factory(extra_config="max_payload: 16777216")
    model_path, digest, window_doc = build_example_model(MODEL, tmp_path / "models")
    window = WindowConfig.model_validate(window_doc, strict=False)
    runtime_config(runtime_process.config_path, server.url,
                   [deployment(MODEL, digest, window_doc, input_subject="in.sensor")], tmp_path)  # fmt: skip
    examples = example_records(MODEL, seed=7, count=2 * len(HOSTILE) + 20, keys=3)
    good: list[dict[str, Any]] = [*examples[:-10], *EDGE_VALID]
    tail = examples[-10:]  # published after the restart: scored over the restored windows

    nc = await nats.connect(server.url)
    js = nc.jetstream()
    try:
        await setup_streams(js, durables={DURABLE: "in.sensor"})
        runtime_process.start()
        assert runtime_process.process is not None
        pid = runtime_process.process.pid

        sent: list[tuple[dict[str, Any], int, str]] = []  # good record, stream sequence, its input id

        async def publish_good(record: dict[str, Any], headers: dict[str, str]) -> None:
            given = headers["Nats-Msg-Id"] = f"good-{len(sent)}" + headers.get("Nats-Msg-Id", "")
            ack = await js.publish("in.sensor", json.dumps(record).encode(), headers=headers)
            sent.append((record, ack.seq, input_id(given, "")))

        for i, (_, payload, _) in enumerate(HOSTILE):
            for record in good[2 * i : 2 * i + 2]:
                await publish_good(record, {})
            await js.publish("in.sensor", payload, headers={"Nats-Msg-Id": f"bad-{i}"})
        for i, record in enumerate(good[2 * len(HOSTILE) :]):
            await publish_good(record, dict(HOSTILE_HEADERS[i % len(HOSTILE_HEADERS)]))

        await wait_for(lambda: results_at_least(js, "out.dlq", len(HOSTILE)), 90, "dead letters",
                       runtime_process.log_tail)  # fmt: skip
        await wait_for(lambda: results_at_least(js, "out.results", len(good)), 90, "results", runtime_process.log_tail)
        await wait_for(lambda: _fully_acked(js), 60, "every input acked", runtime_process.log_tail)
        assert runtime_process.process.pid == pid
        assert runtime_process.process.running
        assert runtime_process.starts == 1
        assert runtime_process.http("/healthz")[0] == 200

        dead = await read_all(js, "OUT", "out.dlq", len(HOSTILE))
        assert len(dead) == len(HOSTILE)
        by_id = {m.headers["Nats-Msg-Id"]: m for m in dead}
        for i, (name, payload, reason) in enumerate(HOSTILE):
            msg = by_id[f"{MODEL}.stable:dlq:bad-{i}"]
            assert msg.headers["Edgeops-Dead-Letter-Reason"] == reason, name
            assert msg.headers["Edgeops-Dead-Letter-Detail"], name
            assert msg.data == payload, name

        results = await read_all(js, "OUT", "out.results", len(good))
        _assert_scores(results, sent, model_path, window)

        # Restart: the windows come back from DuckDB and newer records score as in an uninterrupted run.
        assert runtime_process.terminate() == 0, runtime_process.log_tail()
        runtime_process.start()
        for record in tail:
            await publish_good(record, {})
        total = len(good) + len(tail)
        await wait_for(lambda: results_at_least(js, "out.results", total), 90, "results after the restart",
                       runtime_process.log_tail)  # fmt: skip
        await wait_for(lambda: _fully_acked(js), 60, "every input acked", runtime_process.log_tail)
        assert runtime_process.terminate() == 0, runtime_process.log_tail()
        _assert_scores(await read_all(js, "OUT", "out.results", total), sent, model_path, window)
    finally:
        await nc.close()

    _assert_restored_windows(tmp_path / "features.duckdb", window, sent)


async def _fully_acked(js: Any) -> bool:
    consumer = await js.consumer_info("IN", DURABLE)
    return bool(consumer.num_pending == 0 and consumer.num_ack_pending == 0)


def _assert_scores(
    results: list[Any], sent: list[tuple[dict[str, Any], int, str]], model_path: Path, window: WindowConfig
) -> None:
    """Exactly one result per good record, scored as the good records alone would be."""
    bodies = {}
    for msg in results:
        body = json.loads(msg.data)
        assert body["input_id"] not in bodies, f"second result for {body['input_id']}"
        bodies[body["input_id"]] = body
    assert set(bodies) == {given for _, _, given in sent}
    expected = expected_scores(model_path, window, [record for record, _, _ in sent])
    got = np.asarray([bodies[given]["score"] for _, _, given in sent])
    np.testing.assert_allclose(got, expected, atol=1e-6, rtol=1e-5)


def _assert_restored_windows(db_path: Path, window: WindowConfig, sent: list[tuple[dict[str, Any], int, str]]) -> None:
    expected: dict[str, tuple[list[int], list[Row]]] = {}
    for record, seq, _ in sent:
        seqs, rows = expected.setdefault(record_key(window, record), ([], []))
        seqs.append(seq)
        rows.append(record_values(window, record))
        del seqs[: -window.size], rows[: -window.size]
    store = FeatureStore(db_path, max_keys=100_000)
    try:
        restored = store.deployment(f"{MODEL}.stable", window.size).windows
        assert {k: (w.seqs, w.rows) for k, w in restored.items()} == expected
    finally:
        store.close()


async def test_a_subject_that_is_not_utf8_is_scored_like_any_record(
    tmp_path: Path, nats_server: NatsServer, runtime_process: RuntimeProcess
) -> None:
    """NATS accepts any bytes but whitespace in a subject; the runtime's client must not choke on one that is not
    UTF-8 (the message would never arrive and block the consumer at every redelivery)."""
    _, digest, window_doc = build_example_model(MODEL, tmp_path / "models")
    runtime_config(runtime_process.config_path, nats_server.url,
                   [deployment(MODEL, digest, window_doc, input_subject="in.>")], tmp_path)  # fmt: skip
    records = example_records(MODEL, seed=23, count=20, keys=2)
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    try:
        await setup_streams(js, durables={DURABLE: "in.>"})
        runtime_process.start()
        await publish_records(js, "in.sensor", records[:10], id_prefix="a")
        header = b"NATS/1.0\r\nNats-Msg-Id: odd-subject\r\n\r\n"
        payload = json.dumps(records[10]).encode()
        with socket.create_connection(("127.0.0.1", nats_server.port)) as raw:
            raw.recv(4096)  # INFO
            raw.sendall(b'CONNECT {"verbose":false,"headers":true}\r\n'
                        + b"HPUB in.\xff\xfe %d %d\r\n" % (len(header), len(header) + len(payload))
                        + header + payload + b"\r\nPING\r\n")  # fmt: skip
            assert raw.recv(4096).startswith(b"PONG")
        await publish_records(js, "in.sensor", records[11:], id_prefix="b")

        await wait_for(lambda: results_at_least(js, "out.results", 20), 60, "results", runtime_process.log_tail)
        await wait_for(lambda: _fully_acked(js), 60, "every input acked", runtime_process.log_tail)
        results = {json.loads(m.data)["input_id"]: m for m in await read_all(js, "OUT", "out.results", 20)}
        assert len(results) == 20
        assert results["odd-subject"].headers["Edgeops-Source"] == "in.\ufffd\ufffd"
        assert runtime_process.starts == 1
        assert runtime_process.terminate() == 0, runtime_process.log_tail()
    finally:
        await nc.close()
