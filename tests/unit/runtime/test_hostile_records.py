"""No input crashes the batch step: hostile sensor messages through decode -> validate -> window -> features ->
float32 tensor -> model -> result JSON, with the `sensor-anomaly` model in onnxruntime.

Matrix: the named corpus (`tests.fixtures.hostile_records`: huge and tiny floats, huge integers, deep and huge
JSON, non-UTF-8, wrong types, missing and duplicate members, NaN/Inf, bad keys) gets its documented reason and
leaves the windows untouched, and the good records around it score byte-identically to a run without it; the
unusual-but-valid records are scored; generated corpora (hypothesis) of arbitrary bytes, JSON values and
record-shaped objects never raise anything but `RecordError`, every accepted record gives finite float32 features,
and a rejected one changes nothing for later records of its key; features stay finite at the numeric bound over
the largest window; a model that overflows dead-letters `non_finite_score` instead of writing NaN into JSON;
header values (ids, traceparent, sensor time) are bounded and printable."""

from __future__ import annotations

import copy
import hashlib
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runtime.config import FeatureConfig, FeatureOp, ModelDeploymentConfig, WindowConfig
from runtime.features import RecordError, decode_record, feature_vector, record_key, record_values
from runtime.limits import DEFAULT_MAX_PAYLOAD_BYTES, MAX_ABS_VALUE, MAX_INPUT_ID_CHARS
from runtime.metrics import Metrics
from runtime.pipeline import (
    DeploymentPipeline,
    Incoming,
    Outgoing,
    input_id,
    parse_sensor_ts,
    parse_traceparent,
    subject_key,
)
from runtime.session import LoadedModel, load_model
from runtime.store import DeploymentWindows
from tests.fixtures.edge_runtime import build_example_model, deployment, load_build_module
from tests.fixtures.hostile_records import EDGE_VALID, GOOD, HOSTILE

pytestmark = pytest.mark.unit

MODEL = "sensor-anomaly"
SPEC: WindowConfig = load_build_module(MODEL).WINDOW


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> tuple[ModelDeploymentConfig, LoadedModel]:
    path, digest, window = build_example_model(MODEL, tmp_path_factory.mktemp("models"))
    config = ModelDeploymentConfig.model_validate_json(json.dumps(deployment(MODEL, digest, window)))
    return config, load_model(config, path.parent)


def _pipeline(served: tuple[ModelDeploymentConfig, LoadedModel], metrics: Metrics | None = None) -> DeploymentPipeline:
    config, model = served
    windows = DeploymentWindows(config.deployment_id, config.window.size, 1000)
    return DeploymentPipeline(config, model, windows, metrics or Metrics(), "z")


def _message(payload: bytes, seq: int) -> Incoming:
    return Incoming(payload=payload, seq=seq, input_id=f"IN:{seq}", source="in.sensor", stream_ts=0.0)


def _validate(payload: bytes) -> tuple[str, tuple[float, ...]]:
    record = decode_record(payload, DEFAULT_MAX_PAYLOAD_BYTES)
    return record_key(SPEC, record), record_values(SPEC, record)


def _good(i: int, key: str = "d1") -> bytes:
    return json.dumps({**GOOD, "device_id": key, "ts": float(i), "temperature": 40.0 + (i * 7) % 11}).encode()


def _state(windows: DeploymentWindows) -> Any:
    return copy.deepcopy(({k: (w.seqs, w.rows) for k, w in windows.windows.items()}, windows.log, windows._held))


@pytest.mark.parametrize(("name", "payload", "reason"), HOSTILE, ids=[name for name, _, _ in HOSTILE])
def test_each_named_hostile_record_gets_its_reason(name: str, payload: bytes, reason: str) -> None:
    with pytest.raises(RecordError) as info:
        _validate(payload)
    assert info.value.reason == reason, info.value
    assert info.value.detail.isprintable(), info.value.detail
    assert info.value.detail.isascii(), info.value.detail


def test_hostile_corpus_among_good_records_changes_nothing_for_them(
    served: tuple[ModelDeploymentConfig, LoadedModel],
) -> None:
    """Every hostile record dead-lettered with its reason and outside every window; the good records around it
    (same key) give byte-identical results to a run that never saw it."""
    seq = 0
    mixed: list[Incoming] = []
    clean: list[Incoming] = []
    for i, (_, payload, _) in enumerate(HOSTILE):
        for j in range(2):
            seq += 1
            good = _message(_good(i * 2 + j), seq)
            mixed.append(good)
            clean.append(good)
        seq += 1
        mixed.append(_message(payload, seq))
    with_hostile, without = _pipeline(served), _pipeline(served)
    out = with_hostile.process(mixed)
    expected = without.process(clean)
    dead = {o.incoming.seq: o for o in out if o.dead_letter_reason is not None}
    assert [dead[m.seq].dead_letter_reason for m in mixed if m.seq in dead] == [r for _, _, r in HOSTILE]
    assert all(o.payload == o.incoming.payload and o.subject == "out.dlq" for o in dead.values())
    assert [o.payload for o in out if o.dead_letter_reason is None] == [o.payload for o in expected]
    assert _state(with_hostile.windows)[0] == _state(without.windows)[0]


def test_unusual_but_valid_records_are_scored(served: tuple[ModelDeploymentConfig, LoadedModel]) -> None:
    pipeline = _pipeline(served)
    out = pipeline.process([_message(json.dumps(r).encode(), i + 1) for i, r in enumerate(EDGE_VALID)])
    assert [o.dead_letter_reason for o in out] == [None] * len(EDGE_VALID)
    assert all(math.isfinite(json.loads(o.payload)["score"]) for o in out)
    assert pipeline.windows.windows["edge-zero"].rows[0][SPEC.fields.index("temperature")] == 0.0
    assert math.copysign(1.0, pipeline.windows.windows["edge-zero"].rows[0][SPEC.fields.index("temperature")]) == 1.0


# --- generated corpora -----------------------------------------------------------------------------------------

EXTREMES = [0.0, -0.0, 5e-324, -5e-324, 2.2250738585072014e-308, 1e-45, 1.401298464324817e-45, MAX_ABS_VALUE,
            -MAX_ABS_VALUE, 3.4028235e38, 1.7976931348623157e308, -1.7976931348623157e308, math.nan, math.inf,
            -math.inf, 2**53 + 1, 2**63, 2**64, -(2**63) - 1, 10**30, 10**30 + 1, 10**400, -(10**400), True, False]  # fmt: skip

# every float64 (subnormals, -0.0, huge, NaN, +-inf), integers far beyond float64, and the edges by name
numbers = st.one_of(st.floats(), st.integers(min_value=-(10**500), max_value=10**500), st.sampled_from(EXTREMES))
scalars = numbers | st.booleans() | st.none() | st.text(max_size=20)  # text: lone surrogates and NULs included
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4), max_leaves=12)  # fmt: skip
keys = st.one_of(st.text(max_size=300), st.integers(min_value=-(10**400), max_value=10**400), json_values)


@st.composite
def record_shaped(draw: st.DrawFn) -> bytes:
    """A record with the window's members, each ordinary, an extreme number, any JSON value or (rarely) missing."""
    ordinary = st.floats(min_value=-1e6, max_value=1e6)
    members: dict[str, Any] = {}
    for name in (SPEC.key, *SPEC.fields):
        choice = draw(st.sampled_from(["ordinary", "ordinary", "extreme", "extreme", "any", "missing"]))
        if name == SPEC.key:
            members[name] = draw(st.text(min_size=1, max_size=8) if choice == "ordinary" else keys)
        elif choice != "missing":
            members[name] = draw({"ordinary": ordinary, "extreme": numbers, "any": json_values}[choice])
    members.update(draw(st.dictionaries(st.text(max_size=5), json_values, max_size=3)))
    return json.dumps(members).encode()


@st.composite
def mangled(draw: st.DrawFn) -> bytes:
    """A valid record's bytes, then cut, spliced with arbitrary bytes, nested or given a repeated member."""
    text = json.dumps({**GOOD, "temperature": draw(st.floats(-100, 100))}).encode()
    how = draw(st.sampled_from(["cut", "splice", "nest", "repeat"]))
    at = draw(st.integers(0, len(text)))
    if how == "cut":
        return text[:at]
    if how == "splice":
        return text[:at] + draw(st.binary(max_size=8)) + text[at:]
    if how == "nest":
        depth = draw(st.integers(1, 200))
        return text[:-1] + b', "n": ' + b"[" * depth + b"]" * depth + b"}"
    return text[:-1] + b', "' + draw(st.sampled_from([*SPEC.fields, SPEC.key])).encode() + b'": 1}'


hostile_payloads = st.one_of(
    st.binary(max_size=64), json_values.map(lambda v: json.dumps(v).encode()), record_shaped(), mangled()
)


@settings(max_examples=600, deadline=None)
@given(payload=hostile_payloads)
def test_generated_input_raises_only_record_errors_and_accepted_records_give_finite_features(payload: bytes) -> None:
    try:
        key, row = _validate(payload)
    except RecordError:
        return  # anything else fails the test
    windows = DeploymentWindows("m.stable", SPEC.size, 10)
    for seq in range(1, SPEC.size + 2):  # the row beside itself: sums, deltas and deviations at their largest
        rows = windows.apply(key, seq, row if seq % 2 else tuple(-v for v in row))
    tensor = np.asarray([feature_vector(SPEC, rows)], dtype=np.float32)
    assert np.isfinite(tensor).all(), (payload, tensor)
    assert key.encode("utf-8")  # no lone surrogate: results and DuckDB take it
    assert all(math.isfinite(v) and abs(v) <= MAX_ABS_VALUE for v in row)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=hostile_payloads, before=st.integers(0, 5), after=st.integers(1, 5))
def test_a_rejected_record_leaves_its_window_and_later_scores_unchanged(
    served: tuple[ModelDeploymentConfig, LoadedModel], payload: bytes, before: int, after: int
) -> None:
    metrics = Metrics()
    with_it, without = _pipeline(served, metrics), _pipeline(served, metrics)
    earlier = [_message(_good(i), i + 1) for i in range(before)]
    later = [_message(_good(i), i + 2) for i in range(before, before + after)]
    hostile = _message(payload, before + 1)
    with_it.process(earlier)
    without.process(earlier)
    state = _state(with_it.windows)
    (outcome,) = with_it.process([hostile])
    if outcome.dead_letter_reason is None:
        assert math.isfinite(json.loads(outcome.payload)["score"])
        return  # accepted: it is a record like any other
    assert _state(with_it.windows) == state
    assert _payloads(with_it.process(later)) == _payloads(without.process(later))


def _payloads(out: list[Outgoing]) -> list[bytes]:
    return [o.payload for o in out]


# --- a partitioned input: the subject names the key ------------------------------------------------------------


def _on_subject(payload: bytes, seq: int, key_token: str) -> Incoming:
    subject = f"in.sensor.stable.direct.3.{key_token}"
    return Incoming(payload=payload, seq=seq, input_id=f"IN:{seq}", source=subject, stream_ts=0.0,
                    subject_key=subject_key(subject))  # fmt: skip


def test_a_record_whose_key_differs_from_its_subject_is_dead_lettered_outside_every_window(
    served: tuple[ModelDeploymentConfig, LoadedModel],
) -> None:
    """`key_subject_mismatch`, naming both keys; the key's window and later scores as if it never came."""
    with_it, without = _pipeline(served), _pipeline(served)
    earlier = [_on_subject(_good(i), i + 1, "d1") for i in range(3)]
    later = [_on_subject(_good(i), i + 2, "d1") for i in range(3, 6)]
    with_it.process(earlier)
    without.process(earlier)
    state = _state(with_it.windows)
    (wrong,) = with_it.process([_on_subject(_good(9, key="d1"), 4, "d2")])
    assert wrong.dead_letter_reason == "key_subject_mismatch"
    detail = wrong.headers["Edgeops-Dead-Letter-Detail"]
    assert "is 'd1' but the subject names 'd2'" in detail, detail
    assert _state(with_it.windows) == state
    assert _payloads(with_it.process(later)) == _payloads(without.process(later))
    integer_key = json.dumps({**GOOD, "device_id": 42}).encode()  # an integer key is named by its decimal text
    assert with_it.process([_on_subject(integer_key, 20, "42")])[0].dead_letter_reason is None


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    key=st.text(min_size=1, max_size=12) | st.sampled_from(["d1", "42", "a.b"]),
    token=st.text(st.characters(exclude_characters="."), min_size=1, max_size=12) | st.just("d1"),
)
def test_a_partitioned_record_joins_a_window_only_when_the_subject_names_its_key(
    served: tuple[ModelDeploymentConfig, LoadedModel], key: str, token: str
) -> None:
    pipeline = _pipeline(served)
    payload = json.dumps({**GOOD, "device_id": key}).encode()
    (out,) = pipeline.process([_on_subject(payload, 1, token)])
    try:
        valid_key = record_key(SPEC, json.loads(payload)) == key
    except RecordError:
        valid_key = False
    if valid_key and key == token:
        assert out.dead_letter_reason is None
    else:
        assert out.dead_letter_reason is not None
        assert pipeline.windows.windows == {}


@pytest.mark.parametrize("op", [op for op in FeatureOp if op is not FeatureOp.COUNT])
@pytest.mark.parametrize("pattern", ["same", "alternating", "one-off", "tiny"])
def test_every_op_is_finite_in_float32_at_the_bound_over_the_largest_window(op: FeatureOp, pattern: str) -> None:
    size = 4096  # WindowConfig's maximum
    spec = WindowConfig(key="k", size=size, features=(FeatureConfig(name="f", op=op, field="x"),))
    xs = {
        "same": [MAX_ABS_VALUE] * size,
        "alternating": [MAX_ABS_VALUE * (-1) ** i for i in range(size)],
        "one-off": [-MAX_ABS_VALUE] + [MAX_ABS_VALUE] * (size - 1),
        "tiny": [5e-324 * (i % 3) for i in range(size)],
    }[pattern]
    (value,) = feature_vector(spec, [(x,) for x in xs])
    assert np.isfinite(np.float32(value)), value


# --- the model's side and the headers --------------------------------------------------------------------------


def _overflowing_model(model_dir: Path) -> str:
    """An ONNX model `score = exp(temperature)`: inf once the temperature passes 88.7; returns its digest."""
    from onnx import TensorProto, helper, numpy_helper

    w = np.zeros((len(SPEC.features), 1), dtype=np.float32)
    w[[f.name for f in SPEC.features].index("temperature"), 0] = 1.0
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["features", "w"], ["logit"]), helper.make_node("Exp", ["logit"], ["score"])],
        "overflows",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", len(SPEC.features)])],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, ["batch", 1])],
        initializer=[numpy_helper.from_array(w, "w")],
    )
    blob = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()
    digest = hashlib.sha256(blob).hexdigest()
    (model_dir / f"{digest}.onnx").write_bytes(blob)
    return f"sha256:{digest}"


def test_a_model_that_overflows_dead_letters_non_finite_score(
    served: tuple[ModelDeploymentConfig, LoadedModel], tmp_path: Path
) -> None:
    """That record is `non_finite_score` (it stays in its window, as any scored record does); the others are
    scored and every result is valid JSON."""
    config = served[0]
    config = config.model_copy(
        update={"artifact": config.artifact.model_copy(update={"digest": _overflowing_model(tmp_path)})}
    )
    windows = DeploymentWindows(config.deployment_id, SPEC.size, 10)
    pipeline = DeploymentPipeline(config, load_model(config, tmp_path), windows, Metrics(), "z")
    huge = json.dumps({**GOOD, "device_id": "big", "temperature": 1000.0}).encode()
    out = pipeline.process([_message(_good(1), 1), _message(huge, 2)])
    assert [o.dead_letter_reason for o in out] == [None, "non_finite_score"]
    assert out[1].headers["Edgeops-Dead-Letter-Detail"] == "the model scored inf"
    assert json.loads(out[0].payload)["score"] == pytest.approx(math.exp(47.0), rel=1e-5)
    assert windows.windows["big"].seqs == [2]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (None, "IN:7"),
        ("", "IN:7"),
        ("sensor-1:42", "sensor-1:42"),
        ("é✓", "é✓"),
        ("x" * MAX_INPUT_ID_CHARS, "x" * MAX_INPUT_ID_CHARS),
        ("x" * (MAX_INPUT_ID_CHARS + 1), "sha256:"),
        ("a\r\nb", "sha256:"),
        ("a\x00b", "sha256:"),
        ("\ud800", "sha256:"),
    ],
)
def test_input_ids_are_bounded_printable_and_stable(given: str | None, expected: str) -> None:
    got = input_id(given, "IN:7")
    assert got.startswith(expected) if expected == "sha256:" else got == expected
    assert got == input_id(given, "IN:7")
    assert len(got) <= MAX_INPUT_ID_CHARS


def test_header_values_from_the_record_side_cannot_break_header_framing(
    served: tuple[ModelDeploymentConfig, LoadedModel],
) -> None:
    pipeline = _pipeline(served)
    message = Incoming(payload=b"{", seq=1, input_id="i", source="topic/\r\nInjected: 1", stream_ts=0.0)
    (out,) = pipeline.process([message])
    assert all("\r" not in v and "\n" not in v for v in out.headers.values())


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1733568000.25", 1733568000.25), (None, None), ("", None), ("nan", None), ("inf", None), ("1e999", None),
     ("-5", None), ("0", None), ("253402300801", None), ("1" * 100, None), ("soon", None)],
)  # fmt: skip
def test_sensor_time_header_is_a_plausible_finite_time(value: str | None, expected: float | None) -> None:
    assert parse_sensor_ts(value) == expected


@pytest.mark.parametrize(
    ("value", "kept"),
    [("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", True), ("00-xyz", False), ("", False),
     ("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\nX: y", False), (None, False)],
)  # fmt: skip
def test_traceparent_passes_through_only_when_well_formed(value: str | None, kept: bool) -> None:
    assert parse_traceparent(value) == (value if kept else None)
