"""Sliding-window features: pure functions shared by model training (`models/*/build.py`) and serving.

A record is a JSON object. `record_values` pulls the window's numeric fields out of it (or says precisely
why it cannot); a window is the sequence of those value rows, oldest first, the current record last;
`feature_vector` turns a window into the model input in the order of `WindowConfig.features`.

Arithmetic is float64 (Python floats) and the vector is cast to float32 only at the model boundary, so
training (numpy over `replay`) and serving compute the same numbers.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from runtime.config import FeatureOp, WindowConfig

Row = tuple[float, ...]


class RecordError(ValueError):
    """A record that cannot be featurised; `reason` is a short machine-readable code for dead-lettering."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def record_key(spec: WindowConfig, record: Mapping[str, Any]) -> str:
    value = record.get(spec.key)
    if value is None:
        raise RecordError("missing_field", f"window key {spec.key!r} is missing")
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise RecordError("wrong_type", f"window key {spec.key!r} must be a string or integer")
    text = str(value)
    if not text or len(text) > 256:
        raise RecordError("wrong_type", f"window key {spec.key!r} must have 1..256 characters")
    return text


def record_values(spec: WindowConfig, record: Mapping[str, Any]) -> Row:
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


def feature_vector(spec: WindowConfig, window: Sequence[Row]) -> list[float]:  # noqa: PLR0912 - flat dispatch is the hot path
    """Features of a non-empty window (oldest row first, current record last)."""
    n = len(window)
    if n == 0:
        raise ValueError("feature_vector needs at least the current record")
    index = _field_index(spec)
    columns: dict[str, list[float]] = {}
    moments: dict[str, tuple[float, float]] = {}  # field -> (mean, population std), computed once
    out: list[float] = []
    for feature in spec.features:
        op = feature.op
        if op is FeatureOp.COUNT:
            out.append(float(n))
            continue
        name = feature.field
        assert name is not None  # guaranteed by FeatureConfig
        xs = columns.get(name)
        if xs is None:
            i = index[name]
            xs = columns[name] = [row[i] for row in window]
        if op is FeatureOp.LAST:
            out.append(xs[-1])
        elif op is FeatureOp.DELTA:
            out.append(xs[-1] - xs[-2] if n > 1 else 0.0)
        elif op is FeatureOp.MIN:
            out.append(min(xs))
        elif op is FeatureOp.MAX:
            out.append(max(xs))
        elif op is FeatureOp.SUM:
            out.append(math.fsum(xs))
        else:
            if name not in moments:
                mean = math.fsum(xs) / n
                # Population standard deviation: a window is the whole population we know about.
                moments[name] = (mean, math.sqrt(math.fsum([(x - mean) ** 2 for x in xs]) / n))
            mean, std = moments[name]
            if op is FeatureOp.MEAN:
                out.append(mean)
            elif op is FeatureOp.STD:
                out.append(std)
            else:  # ZSCORE
                out.append(0.0 if std == 0.0 else (xs[-1] - mean) / std)
    return out


_INDEX_CACHE: dict[int, tuple[WindowConfig, dict[str, int]]] = {}


def _field_index(spec: WindowConfig) -> dict[str, int]:
    cached = _INDEX_CACHE.get(id(spec))
    if cached is None or cached[0] is not spec:  # the spec itself is kept, so its id cannot be reused
        cached = _INDEX_CACHE[id(spec)] = (spec, {name: i for i, name in enumerate(spec.fields)})
    return cached[1]


def replay(spec: WindowConfig, records: Iterable[Mapping[str, Any]]) -> list[list[float]]:
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
