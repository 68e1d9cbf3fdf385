"""The batch step (runtime.pipeline) with a real example model in onnxruntime, no sockets: results carry the
deterministic id `<deployment>:<input id>`, the score equals the shared feature code + the model; malformed
records become dead letters with reasons without stopping the batch; shadow results go to the shadow subject;
redelivering a batch yields identical results, also after newer records of the key slid its rows out of the window
while its results were unconfirmed (a NATS restart); provider choice (TensorRT -> CUDA -> CPU) follows
availability and hardware; NATS wildcard matching; which config changes can be hot-swapped. A result payload is
byte for byte `json.dumps` of its body (keys in order), for generated hostile ids and keys (quotes, backslashes,
controls, non-ASCII, lone surrogates) and any finite score, and follows a swapped model's version."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
from hypothesis import given
from hypothesis import strategies as st

from runtime.config import ExecutionProvider, ModelDeploymentConfig, RuntimeConfig
from runtime.features import replay
from runtime.metrics import Metrics
from runtime.pipeline import DeploymentPipeline, Incoming, result_payload, result_tail
from runtime.service import _hot_swappable
from runtime.session import ModelLoadError, choose_providers, load_model
from runtime.sources.jetstream import subject_matches
from runtime.store import DeploymentWindows
from tests.fixtures.edge_runtime import build_example_model, deployment

pytestmark = pytest.mark.unit

MODEL = "sensor-anomaly"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, dict[str, Any]]:
    return build_example_model(MODEL, tmp_path_factory.mktemp("models"))


def _pipeline(built: tuple[Path, str, dict[str, Any]], track: str = "stable") -> DeploymentPipeline:
    path, digest, window = built
    config = ModelDeploymentConfig.model_validate_json(json.dumps(deployment(MODEL, digest, window, track=track)))
    model = load_model(config, path.parent)
    return DeploymentPipeline(config, model, DeploymentWindows(config.deployment_id, 32, 1000), Metrics(), "z")


def _incoming(payload: bytes, seq: int) -> Incoming:
    return Incoming(payload=payload, seq=seq, input_id=f"IN:{seq}", source="in.sensor", stream_ts=0.0)


RECORDS = [
    {"device_id": "d1", "ts": 1.0 + i, "temperature": 40.0 + i, "vibration": 0.5, "current": 10.0 - i} for i in range(6)
]


def test_results_match_shared_features_and_model(built: tuple[Path, str, dict[str, Any]]) -> None:
    pipeline = _pipeline(built)
    out = pipeline.process([_incoming(json.dumps(r).encode(), i + 1) for i, r in enumerate(RECORDS)])
    bodies = [json.loads(o.payload) for o in out]
    assert [o.headers["Nats-Msg-Id"] for o in out] == [f"{MODEL}.stable:IN:{i + 1}" for i in range(6)]
    assert all(o.subject == "out.results" and o.dead_letter_reason is None for o in out)
    session = ort.InferenceSession(str(built[0]), providers=["CPUExecutionProvider"])
    features = np.asarray(replay(pipeline.config.window, RECORDS), dtype=np.float32)
    (expected,) = session.run(["score"], {"features": features})
    np.testing.assert_allclose([b["score"] for b in bodies], expected[:, 0], rtol=1e-6)
    # A redelivered batch: same ids, same scores, windows unchanged.
    again = pipeline.process([_incoming(json.dumps(r).encode(), i + 1) for i, r in enumerate(RECORDS)])
    assert [o.payload for o in again] == [o.payload for o in out]
    assert pipeline.windows.windows["d1"].seqs == [1, 2, 3, 4, 5, 6]


def test_unconfirmed_record_redelivered_after_its_window_slid_gets_the_same_result(
    built: tuple[Path, str, dict[str, Any]],
) -> None:
    pipeline = _pipeline(built)  # window size 32
    records = [{**RECORDS[0], "ts": float(i), "temperature": 30.0 + (i * 7) % 13} for i in range(80)]
    messages = [_incoming(json.dumps(r).encode(), i + 1) for i, r in enumerate(records)]
    first = pipeline.process(messages[:40])
    pipeline.published(first[:39], 0)  # record 40's result is still in flight (the server went away)
    later = pipeline.process(messages[40:])  # 40 newer records of the same key
    again = pipeline.process([messages[39]])  # redelivered
    assert again[0].payload == first[39].payload
    assert len(pipeline.windows.windows["d1"].seqs) == 80 - 40 + 32  # 40's window, then everything newer
    pipeline.published(again + later, 0)
    more = pipeline.process([_incoming(json.dumps(records[0]).encode(), 81)])
    pipeline.published(more, 0)
    assert pipeline.windows.windows["d1"].seqs == list(range(50, 82))


def test_malformed_records_are_dead_lettered_and_the_batch_continues(
    built: tuple[Path, str, dict[str, Any]],
) -> None:
    pipeline = _pipeline(built)
    batch = [
        _incoming(b"nope", 1),
        _incoming(json.dumps(RECORDS[0]).encode(), 2),
        _incoming(json.dumps({**RECORDS[1], "current": "high"}).encode(), 3),
        _incoming(b"x" * 70_000, 4),
    ]
    out = pipeline.process(batch)
    reasons = {o.incoming.seq: o.dead_letter_reason for o in out}
    assert reasons == {1: "invalid_json", 2: None, 3: "wrong_type", 4: "oversized"}
    dead = [o for o in out if o.dead_letter_reason]
    assert all(o.subject == "out.dlq" for o in dead)
    assert all(o.headers["Edgeops-Dead-Letter-Reason"] == o.dead_letter_reason for o in dead)
    assert "'current'" in next(o for o in dead if o.incoming.seq == 3).headers["Edgeops-Dead-Letter-Detail"]


def _dumps(body: dict[str, Any]) -> bytes:
    """What results were serialised with before `result_payload`: the byte format consumers already parse."""
    return json.dumps(body, separators=(",", ":"), allow_nan=False).encode()


_HOSTILE_TEXT = st.text(
    st.one_of(
        st.characters(exclude_categories=()),  # surrogates included
        st.sampled_from(['"', "\\", "/", "\x00", "\x1f", "\x7f", "\u2028", "\ud800", "\udfff", "\U0001f600"]),
    )
)


@given(
    ids=st.tuples(_HOSTILE_TEXT, _HOSTILE_TEXT, _HOSTILE_TEXT),
    model=st.tuples(_HOSTILE_TEXT, _HOSTILE_TEXT, _HOSTILE_TEXT),
    score=st.floats(allow_nan=False, allow_infinity=False),
)
def test_result_payload_is_json_dumps_of_the_body(
    ids: tuple[str, str, str], model: tuple[str, str, str], score: float
) -> None:
    (result_id, input_id, key), (name, version, track) = ids, model
    body = {
        "id": result_id, "input_id": input_id, "key": key, "score": score,
        "model": name, "version": version, "track": track,
    }  # fmt: skip
    assert result_payload(result_id, input_id, key, score, result_tail(name, version, track)) == _dumps(body)


def test_results_are_their_json_bodies_and_follow_a_swap(built: tuple[Path, str, dict[str, Any]]) -> None:
    pipeline = _pipeline(built)
    out = pipeline.process([_incoming(json.dumps(RECORDS[0]).encode(), 1)])
    pipeline.swap(dataclasses.replace(pipeline.model, version="9.9.9-rc.1"))
    out += pipeline.process([_incoming(json.dumps(RECORDS[1]).encode(), 2)])
    bodies = [json.loads(o.payload) for o in out]  # keeps the key order
    assert [o.payload for o in out] == [_dumps(b) for b in bodies]
    assert [list(b) for b in bodies] == [["id", "input_id", "key", "score", "model", "version", "track"]] * 2
    assert [b["version"] for b in bodies] == ["1.0.0", "9.9.9-rc.1"]


def test_shadow_results_never_go_to_production(built: tuple[Path, str, dict[str, Any]]) -> None:
    pipeline = _pipeline(built, track="shadow")
    out = pipeline.process([_incoming(json.dumps(RECORDS[0]).encode(), 1)])
    assert [o.subject for o in out] == ["out.shadow"]


def test_wrong_digest_or_io_is_refused(built: tuple[Path, str, dict[str, Any]], tmp_path: Path) -> None:
    path, _, window = built
    wrong = ModelDeploymentConfig.model_validate_json(json.dumps(deployment(MODEL, "sha256:" + "0" * 64, window)))
    with pytest.raises(ModelLoadError, match="cannot read"):
        load_model(wrong, path.parent)
    (tmp_path / path.name).write_bytes(path.read_bytes())
    narrow = {**window, "features": window["features"][:3]}
    config = ModelDeploymentConfig.model_validate_json(json.dumps(deployment(MODEL, built[1], narrow)))
    with pytest.raises(ModelLoadError, match=r"float \[batch, 3\]"):
        load_model(config, tmp_path)


CPU, CUDA, TRT = "CPUExecutionProvider", "CUDAExecutionProvider", "TensorrtExecutionProvider"
PREFERENCE = (ExecutionProvider.TENSORRT, ExecutionProvider.CUDA, ExecutionProvider.CPU)


@pytest.mark.parametrize(
    ("available", "gpu", "expected"),
    [
        ([TRT, CUDA, CPU], True, [TRT, CPU]),
        ([CUDA, CPU], True, [CUDA, CPU]),
        ([TRT, CUDA, CPU], False, [CPU]),
        ([CPU], True, [CPU]),
    ],
)
def test_provider_choice(available: list[str], gpu: bool, expected: list[str]) -> None:
    assert choose_providers(PREFERENCE, available, gpu) == expected
    assert choose_providers((ExecutionProvider.CPU,), available, gpu) == [CPU]


@pytest.mark.parametrize(
    ("pattern", "subject", "matches"),
    [("in.>", "in.a.b", True), ("in.>", "in", False), ("in.*", "in.a", True), ("in.*", "in.a.b", False),
     ("in.a", "in.a", True), ("in.a", "in.b", False)],
)  # fmt: skip
def test_subject_matches(pattern: str, subject: str, matches: bool) -> None:
    assert subject_matches(pattern, subject) is matches


def test_only_version_and_artifact_changes_are_hot_swappable(built: tuple[Path, str, dict[str, Any]]) -> None:
    _, digest, window = built
    doc = {"zone": "z", "region": "r", "nats": {"url": "nats://127.0.0.1:4222"},
           "models": [deployment(MODEL, digest, window)]}  # fmt: skip
    old = RuntimeConfig.model_validate_json(json.dumps(doc))
    doc["models"][0].update(version="2.0.0", artifact={"ref": "r/m:2", "digest": "sha256:" + "1" * 64})
    assert _hot_swappable(old, RuntimeConfig.model_validate_json(json.dumps(doc)))
    doc["models"][0]["subjects"]["result"] = "elsewhere"
    assert not _hot_swappable(old, RuntimeConfig.model_validate_json(json.dumps(doc)))


@pytest.mark.parametrize(
    "reply",
    [
        "$JS.ACK.IN.durable.1.4242.17.1732771200123456789.5",
        "$JS.ACK.hub.ACCHASH.IN.durable.2.4242.17.1732771200123456789.5.rand",
    ],
)
def test_ack_subject_parsing_matches_the_client(reply: str) -> None:
    from nats.aio.msg import Msg

    from runtime.sources.jetstream import ack_reply_fields

    msg = Msg(_client=None, subject="in.x", reply=reply, data=b"", headers=None)  # type: ignore[arg-type]
    meta = msg.metadata
    stream, seq, ts = ack_reply_fields(msg)
    assert (stream, seq) == (meta.stream, meta.sequence.stream) == ("IN", 4242)
    assert ts == pytest.approx(meta.timestamp.timestamp(), abs=1e-5)
