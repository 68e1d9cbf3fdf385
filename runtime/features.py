"""Sliding-window features: pure functions shared by model training (`models/*/build.py`) and serving.

A record is a JSON object. `record_values` pulls the window's numeric fields out of it (or says precisely
why it cannot); a window is the sequence of those value rows, oldest first, the current record last;
`feature_vector` turns a window into the model input in the order of `WindowSpec.features`.

Arithmetic is float64 (Python floats) and the vector is cast to float32 only at the model boundary, so
training (numpy over `replay`) and serving compute the same numbers.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from runtime.config import FeatureOp, WindowSpec

Row = tuple[float, ...]


class RecordError(ValueError):
    """A record that cannot be featurised; `reason` is a short machine-readable code for dead-lettering."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def record_key(spec: WindowSpec, record: Mapping[str, Any]) -> str:
    value = record.get(spec.key)
    if value is None:
        raise RecordError("missing_field", f"window key {spec.key!r} is missing")
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise RecordError("wrong_type", f"window key {spec.key!r} must be a string or integer")
    text = str(value)
    if not text or len(text) > 256:
        raise RecordError("wrong_type", f"window key {spec.key!r} must have 1..256 characters")
    return text


def record_values(spec: WindowSpec, record: Mapping[str, Any]) -> Row:
    """The record's values for `spec.fields`; booleans count as 0/1, everything else must be a finite number."""
    values: list[float] = []
    for name in spec.fields:
        if name not in record:
            raise RecordError("missing_field", f"field {name!r} is missing")
        raw = record[name]
        if isinstance(raw, bool):
            values.append(1.0 if raw else 0.0)
            continue
        if not isinstance(raw, int | float):
            raise RecordError("wrong_type", f"field {name!r} must be a number, got {type(raw).__name__}")
        value = float(raw)
        if not math.isfinite(value):
            raise RecordError("non_finite", f"field {name!r} is {raw!r}")
        values.append(value)
    return tuple(values)


def _mean(xs: Sequence[float]) -> float:
    return math.fsum(xs) / len(xs)


def _std(xs: Sequence[float]) -> float:
    # Population standard deviation: a window is the whole population we know about.
    mean = _mean(xs)
    return math.sqrt(math.fsum((x - mean) ** 2 for x in xs) / len(xs))


def _zscore(xs: Sequence[float]) -> float:
    std = _std(xs)
    return 0.0 if std == 0.0 else (xs[-1] - _mean(xs)) / std


_COLUMN_OPS: dict[FeatureOp, Callable[[Sequence[float]], float]] = {
    FeatureOp.LAST: lambda xs: xs[-1],
    FeatureOp.MEAN: _mean,
    FeatureOp.STD: _std,
    FeatureOp.MIN: min,
    FeatureOp.MAX: max,
    FeatureOp.SUM: math.fsum,
    FeatureOp.DELTA: lambda xs: xs[-1] - xs[-2] if len(xs) > 1 else 0.0,
    FeatureOp.ZSCORE: _zscore,
}


def feature_vector(spec: WindowSpec, window: Sequence[Row]) -> list[float]:
    """Features of a non-empty window (oldest row first, current record last)."""
    if not window:
        raise ValueError("feature_vector needs at least the current record")
    columns = dict(zip(spec.fields, zip(*window, strict=True), strict=True))
    out: list[float] = []
    for feature in spec.features:
        if feature.op is FeatureOp.COUNT:
            out.append(float(len(window)))
        else:
            assert feature.field is not None  # guaranteed by FeatureSpec
            out.append(_COLUMN_OPS[feature.op](columns[feature.field]))
    return out


def replay(spec: WindowSpec, records: Iterable[Mapping[str, Any]]) -> list[list[float]]:
    """Feature vectors for records in arrival order, each over its key's window including itself.

    This is what serving computes for an uninterrupted stream; training uses it so both sides agree."""
    windows: dict[str, deque[Row]] = {}
    vectors: list[list[float]] = []
    for record in records:
        key = record_key(spec, record)
        window = windows.setdefault(key, deque(maxlen=spec.size))
        window.append(record_values(spec, record))
        vectors.append(feature_vector(spec, window))
    return vectors
