"""Sliding-window features: pure functions shared by model training (`models/*/build.py`) and serving.

A record is a JSON object (`decode_record` parses a message into one, or says why it cannot). `record_key` and
`record_values` pull the window key and numeric fields out of it within the limits of `runtime.limits`, or raise
`RecordError` naming the field; a window is the sequence of those value rows, oldest first, the current record
last; `feature_vector` turns a window into the model input in the order of `WindowConfig.features`. A record
that passes these checks cannot make any later step fail: its features are finite and fit float32.

Arithmetic is float64 (Python floats) and the vector is cast to float32 only at the model boundary, so
training (numpy over `replay`) and serving compute the same numbers.
"""

from __future__ import annotations

import json
import math
import re
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from runtime.config import FeatureOp, WindowConfig
from runtime.limits import MAX_ABS_VALUE, MAX_DEPTH, MAX_KEY_CHARS, UNPRINTABLE

Row = tuple[float, ...]


class RecordError(ValueError):
    """A record that cannot be featurised; `reason` is a short machine-readable code for dead-lettering."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


# A JSON string (with its escapes), then any bracket outside one: what the exact nesting check walks over.
_STRING_OR_BRACKET = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')
_KEY_INT_BITS = math.ceil(MAX_KEY_CHARS * math.log2(10))  # an integer key with more bits has over 256 digits


def decode_record(payload: bytes, max_bytes: int) -> dict[str, Any]:
    """The JSON object in `payload`, or a RecordError saying why not (see `runtime.limits`).

    Strict where Python's `json` is lenient in ways that would break a later step: UTF-8 only (no UTF-16 guess),
    at most MAX_DEPTH levels (deeper input would otherwise meet the interpreter's recursion limit), and no
    repeated member names (parsers disagree on which copy counts). NaN/Infinity literals still parse; a window
    field holding one is `non_finite`, elsewhere in the record it is never read."""
    if len(payload) > max_bytes:
        raise RecordError("oversized", f"{len(payload)} bytes > {max_bytes}")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RecordError("invalid_json", f"not UTF-8: {exc.reason} at byte {exc.start}") from exc
    objects = text.count("{")
    if objects + text.count("[") > MAX_DEPTH and _depth(text) > MAX_DEPTH:
        raise RecordError("too_deep", f"arrays/objects nested deeper than {MAX_DEPTH} levels")
    try:
        record = json.loads(text)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, or an integer literal over 4300 digits
        raise RecordError("invalid_json", str(exc)[:200]) from exc
    if not isinstance(record, dict):
        raise RecordError("not_an_object", f"expected a JSON object, got {type(record).__name__}")
    # Cheap proof of unique names: with no nested object, every member has its own ':' (strings may add more).
    if objects != 1 or text.count(":") != len(record):
        json.loads(text, object_pairs_hook=_unique_members)
    return record


def _depth(text: str) -> int:
    depth = deepest = 0
    for match in _STRING_OR_BRACKET.finditer(text):
        found = match.group()
        if found in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif found in "]}":
            depth -= 1
    return deepest


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members = dict(pairs)
    if len(members) != len(pairs):
        names = [name for name, _ in pairs]
        repeated = next(name for i, name in enumerate(names) if name in names[:i])
        raise RecordError("duplicate_field", f"member {_show(repeated)} appears more than once")
    return members


def _show(text: str) -> str:
    """A name or value for a dead-letter detail: quoted, escaped (no surrogates or controls), at most 64 chars."""
    shown = ascii(text)
    return shown if len(shown) <= 64 else shown[:60] + "...'"


def record_key(spec: WindowConfig, record: Mapping[str, Any]) -> str:
    """The window key: a string or an integer (as its decimal text) of 1..MAX_KEY_CHARS printable characters."""
    value = record.get(spec.key)
    if value is None:
        raise RecordError("missing_field", f"window key {spec.key!r} is missing")
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise RecordError("wrong_type", f"window key {spec.key!r} must be a string or integer, got {_kind(value)}")
    if isinstance(value, int) and value.bit_length() > _KEY_INT_BITS:  # str() of a huge int is slow, or raises
        raise RecordError("invalid_key", f"window key {spec.key!r} has more than {MAX_KEY_CHARS} digits")
    text = str(value)
    if not text or len(text) > MAX_KEY_CHARS:
        raise RecordError("invalid_key", f"window key {spec.key!r} must have 1..{MAX_KEY_CHARS} characters")
    bad = UNPRINTABLE.search(text)
    if bad is not None:
        raise RecordError(
            "invalid_key", f"window key {spec.key!r} holds {bad.group()!a} (a control character or lone surrogate)"
        )
    return text


def record_values(spec: WindowConfig, record: Mapping[str, Any]) -> Row:
    """The record's values for `spec.fields`: finite numbers within +-MAX_ABS_VALUE (booleans count as 0/1)."""
    values: list[float] = []
    for name in spec.fields:
        if name not in record:
            raise RecordError("missing_field", f"field {name!r} is missing")
        raw = record[name]
        if isinstance(raw, bool):
            values.append(1.0 if raw else 0.0)
            continue
        if isinstance(raw, int):
            if not -MAX_ABS_VALUE <= raw <= MAX_ABS_VALUE:  # compared exactly: float(raw) could overflow
                raise RecordError("out_of_range", f"field {name!r} is beyond +-{MAX_ABS_VALUE:g}")
            values.append(float(raw))
            continue
        if not isinstance(raw, float):
            raise RecordError("wrong_type", f"field {name!r} must be a number, got {_kind(raw)}")
        if not math.isfinite(raw):
            raise RecordError("non_finite", f"field {name!r} is {raw!r}")
        if not -MAX_ABS_VALUE <= raw <= MAX_ABS_VALUE:
            raise RecordError("out_of_range", f"field {name!r} is {raw!r}, beyond +-{MAX_ABS_VALUE:g}")
        values.append(raw + 0.0)  # -0.0 becomes 0.0: one zero in memory, in DuckDB and after a restore
    return tuple(values)


def _kind(value: object) -> str:
    return {dict: "an object", list: "an array", str: "a string", float: "a float"}.get(
        type(value), "null" if value is None else type(value).__name__
    )


def feature_vector(spec: WindowConfig, window: Sequence[Row]) -> list[float]:
    """Features of a non-empty window (oldest row first, current record last)."""
    n = len(window)
    if n == 0:
        raise ValueError("feature_vector needs at least the current record")
    plan = _plan(spec)
    columns = tuple(zip(*window, strict=True))  # one per field of `spec.fields`, oldest value first
    moments = {i: _moments(columns[i], n) for i in plan.moment_fields}
    return [compute(columns, n, moments) for compute in plan.features]


_Columns = tuple[tuple[float, ...], ...]
_Moments = dict[int, tuple[float, float]]  # field index -> (mean, population std)
_Feature = Callable[[_Columns, int, _Moments], float]
_MOMENT_OPS = (FeatureOp.MEAN, FeatureOp.STD, FeatureOp.ZSCORE)


@dataclass(frozen=True)
class _Plan:
    """A spec compiled once (the hot path dispatches nothing per call): one function per feature, and the fields
    whose moments they read, each computed once per window."""

    features: tuple[_Feature, ...]
    moment_fields: tuple[int, ...]


def _moments(xs: tuple[float, ...], n: int) -> tuple[float, float]:
    mean = math.fsum(xs) / n
    # Population standard deviation: a window is the whole population we know about.
    return mean, math.sqrt(math.fsum([(x - mean) ** 2 for x in xs]) / n)


def _compile(op: FeatureOp, i: int) -> _Feature:
    """Feature `op` of field `i` (a column index; unused by COUNT)."""
    if op is FeatureOp.COUNT:
        return lambda columns, n, moments: float(n)
    if op is FeatureOp.LAST:
        return lambda columns, n, moments: columns[i][-1]
    if op is FeatureOp.DELTA:
        return lambda columns, n, moments: columns[i][-1] - columns[i][-2] if n > 1 else 0.0
    if op is FeatureOp.MIN:
        return lambda columns, n, moments: min(columns[i])
    if op is FeatureOp.MAX:
        return lambda columns, n, moments: max(columns[i])
    if op is FeatureOp.SUM:
        return lambda columns, n, moments: math.fsum(columns[i])
    if op is FeatureOp.MEAN:
        return lambda columns, n, moments: moments[i][0]
    if op is FeatureOp.STD:
        return lambda columns, n, moments: moments[i][1]
    return lambda columns, n, moments: _zscore(columns[i][-1], *moments[i])


def _zscore(last: float, mean: float, std: float) -> float:
    return 0.0 if std == 0.0 else (last - mean) / std


_PLANS: dict[int, tuple[WindowConfig, _Plan]] = {}


def _plan(spec: WindowConfig) -> _Plan:
    cached = _PLANS.get(id(spec))
    if cached is None or cached[0] is not spec:  # the spec itself is kept, so its id cannot be reused
        index = {name: i for i, name in enumerate(spec.fields)}
        used = [(f.op, -1 if f.field is None else index[f.field]) for f in spec.features]
        plan = _Plan(
            tuple(_compile(op, i) for op, i in used), tuple(dict.fromkeys(i for op, i in used if op in _MOMENT_OPS))
        )
        cached = _PLANS[id(spec)] = (spec, plan)
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
