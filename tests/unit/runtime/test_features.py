"""Sliding-window feature ops: every op on hand-computed windows (one record, several, constant values),
record validation reasons (missing field, wrong type, NaN/inf, bad key), and `replay` keeping one window per
key capped at `size`. Generated specs (every op, fields shared between features, in any order) over generated
windows (1..64 rows, negative zero, subnormal and limit-sized values) give exactly, to the bit and the sign of
zero, what a plain per-feature reference computes: training (`replay`) and serving must agree with the models'
recorded digests."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime.config import FeatureConfig, FeatureOp, WindowConfig
from runtime.features import RecordError, feature_vector, record_key, record_values, replay
from runtime.limits import MAX_ABS_VALUE

pytestmark = pytest.mark.unit


def _spec(*ops: FeatureOp, size: int = 4) -> WindowConfig:
    features = tuple(
        FeatureConfig(name=f"f{i}", op=op, field=None if op is FeatureOp.COUNT else "x") for i, op in enumerate(ops)
    )
    return WindowConfig(key="k", size=size, features=features)


ALL_OPS = tuple(FeatureOp)


@pytest.mark.parametrize(
    ("xs", "expected"),
    [
        # last, mean, std, min, max, sum, count, delta, zscore
        ([5.0], [5.0, 5.0, 0.0, 5.0, 5.0, 5.0, 1.0, 0.0, 0.0]),
        ([2.0, 2.0, 2.0], [2.0, 2.0, 0.0, 2.0, 2.0, 6.0, 3.0, 0.0, 0.0]),
        ([1.0, 3.0], [3.0, 2.0, 1.0, 1.0, 3.0, 4.0, 2.0, 2.0, 1.0]),
        ([4.0, 0.0, 2.0, 6.0], [6.0, 3.0, math.sqrt(5.0), 0.0, 6.0, 12.0, 4.0, 4.0, 3.0 / math.sqrt(5.0)]),
    ],
)
def test_every_op_over_a_window(xs: list[float], expected: list[float]) -> None:
    assert ALL_OPS == (
        FeatureOp.LAST,
        FeatureOp.MEAN,
        FeatureOp.STD,
        FeatureOp.MIN,
        FeatureOp.MAX,
        FeatureOp.SUM,
        FeatureOp.COUNT,
        FeatureOp.DELTA,
        FeatureOp.ZSCORE,
    )
    got = feature_vector(_spec(*ALL_OPS), [(x,) for x in xs])
    assert got == pytest.approx(expected, rel=1e-12)


def test_features_follow_spec_order_and_fields() -> None:
    spec = WindowConfig(
        key="card_id",
        size=32,
        features=(
            FeatureConfig(name="amount", op=FeatureOp.LAST, field="amount"),
            FeatureConfig(name="amount_mean", op=FeatureOp.MEAN, field="amount"),
            FeatureConfig(name="tx_count", op=FeatureOp.COUNT),
            FeatureConfig(name="gap_s", op=FeatureOp.DELTA, field="ts"),
        ),
    )
    assert spec.fields == ("amount", "ts")
    records = [
        {"card_id": "c1", "ts": 100, "amount": 10.0},
        {"card_id": "c2", "ts": 101, "amount": 99.0},
        {"card_id": "c1", "ts": 160, "amount": 30.0},
    ]
    assert replay(spec, records) == [[10.0, 10.0, 1.0, 0.0], [99.0, 99.0, 1.0, 0.0], [30.0, 20.0, 2.0, 60.0]]


def test_replay_caps_each_window_at_size() -> None:
    spec = _spec(FeatureOp.COUNT, FeatureOp.MIN, size=3)
    vectors = replay(spec, [{"k": "a", "x": float(i)} for i in range(6)])
    assert [v[0] for v in vectors] == [1.0, 2.0, 3.0, 3.0, 3.0, 3.0]
    assert vectors[-1][1] == 3.0  # rows 0..2 fell out of the window


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({"k": "a"}, "missing_field"),
        ({"k": "a", "x": "12"}, "wrong_type"),
        ({"k": "a", "x": [1.0]}, "wrong_type"),
        ({"k": "a", "x": None}, "wrong_type"),
        ({"k": "a", "x": float("nan")}, "non_finite"),
        ({"k": "a", "x": float("inf")}, "non_finite"),
    ],
)
def test_bad_values_name_the_field_and_reason(record: dict[str, object], reason: str) -> None:
    with pytest.raises(RecordError) as info:
        record_values(_spec(FeatureOp.LAST), record)
    assert info.value.reason == reason
    assert "'x'" in info.value.detail


@pytest.mark.parametrize("key", [None, True, 1.5, "", "x" * 300, ["a"]])
def test_bad_keys_are_rejected(key: object) -> None:
    record = {"x": 1.0} if key is None else {"k": key, "x": 1.0}
    with pytest.raises(RecordError):
        record_key(_spec(FeatureOp.LAST), record)


def test_booleans_and_integers_are_numbers() -> None:
    spec = _spec(FeatureOp.LAST)
    assert record_values(spec, {"k": 7, "x": True}) == (1.0,)
    assert record_key(spec, {"k": 7}) == "7"
    assert record_values(spec, {"k": "a", "x": 3}) == (3.0,)


def test_empty_window_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="at least"):
        feature_vector(_spec(FeatureOp.LAST), [])


def _reference(spec: WindowConfig, window: list[tuple[float, ...]]) -> list[float]:
    """Each feature on its own, straight from its definition: the arithmetic `feature_vector` must reproduce."""
    n = len(window)
    out = []
    for feature in spec.features:
        if feature.op is FeatureOp.COUNT:
            out.append(float(n))
            continue
        i = spec.fields.index(feature.field or "")
        xs = [row[i] for row in window]
        mean = math.fsum(xs) / n
        std = math.sqrt(math.fsum([(x - mean) ** 2 for x in xs]) / n)
        out.append(
            {
                FeatureOp.LAST: xs[-1],
                FeatureOp.DELTA: xs[-1] - xs[-2] if n > 1 else 0.0,
                FeatureOp.MIN: min(xs),
                FeatureOp.MAX: max(xs),
                FeatureOp.SUM: math.fsum(xs),
                FeatureOp.MEAN: mean,
                FeatureOp.STD: std,
                FeatureOp.ZSCORE: 0.0 if std == 0.0 else (xs[-1] - mean) / std,
            }[feature.op]
        )
    return out


_VALUES = st.one_of(
    st.floats(min_value=-MAX_ABS_VALUE, max_value=MAX_ABS_VALUE),
    st.sampled_from([0.0, -0.0, 5e-324, -5e-324, 2.2e-308, MAX_ABS_VALUE, -MAX_ABS_VALUE, 1e-30, 0.1, 1.0]),
)


@st.composite
def _specs_and_windows(draw: st.DrawFn) -> tuple[WindowConfig, list[tuple[float, ...]]]:
    fields = ["a", "b", "c"]
    ops = draw(st.lists(st.tuples(st.sampled_from(ALL_OPS), st.sampled_from(fields)), min_size=1, max_size=12))
    features = tuple(
        FeatureConfig(name=f"f{i}", op=op, field=None if op is FeatureOp.COUNT else name)
        for i, (op, name) in enumerate(ops)
    )
    spec = WindowConfig(key="k", size=64, features=features)
    width = len(spec.fields)
    window = draw(st.lists(st.tuples(*[_VALUES] * width), min_size=1, max_size=64))
    return spec, window


def _bits(values: list[float]) -> list[tuple[float, float]]:
    return [(v, math.copysign(1.0, v)) for v in values]


@settings(max_examples=400, deadline=None)
@given(_specs_and_windows())
def test_feature_vector_is_the_reference_arithmetic_exactly(case: tuple[WindowConfig, list[tuple[float, ...]]]) -> None:
    spec, window = case
    got, expected = feature_vector(spec, window), _reference(spec, window)
    assert len(got) == len(expected)
    assert _bits(got) == _bits(expected)  # `==` per element, and -0.0 stays -0.0
