"""Parity math (absolute and relative tolerance, shape and NaN failures, worst element named), target parsing,
the compat table (one line per target) and the overall verdict (not-run is never a pass)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from reconciler.core.modelops.compat import TargetResult, overall, parse_targets, render_table
from reconciler.core.modelops.parity import Tolerance, compare
from reconciler.core.spec.model import CompatResult

pytestmark = pytest.mark.unit


def test_identical_outputs_are_within_any_tolerance() -> None:
    values = np.array([[0.1], [0.2]], dtype=np.float32)
    parity = compare(values, values.copy(), Tolerance(atol=0))
    assert parity.within
    assert parity.max_abs_diff == 0.0


def test_difference_within_atol_passes_and_reports_the_max() -> None:
    parity = compare([[1.0], [2.0]], [[1.0 + 4e-6], [2.0 - 9e-6]], Tolerance(atol=1e-5))
    assert parity.within
    assert parity.max_abs_diff == pytest.approx(9e-6)


def test_difference_beyond_atol_fails_naming_the_worst_element() -> None:
    parity = compare([[1.0, 1.0], [2.0, 2.0]], [[1.0, 1.0], [2.0, 2.5]], Tolerance(atol=1e-3))
    assert not parity.within
    assert parity.max_abs_diff == pytest.approx(0.5)
    assert "1 of 4 values" in parity.reason
    assert "[1, 1]" in parity.reason


def test_relative_tolerance_scales_with_the_expected_value() -> None:
    assert compare([1000.0], [1000.05], Tolerance(atol=0, rtol=1e-4)).within
    assert not compare([1.0], [1.05], Tolerance(atol=0, rtol=1e-4)).within


def test_shape_mismatch_and_nan_fail() -> None:
    shape = compare([[1.0], [2.0]], [1.0, 2.0], Tolerance())
    assert not shape.within
    assert "shape" in shape.reason
    assert math.isinf(shape.max_abs_diff)
    nan = compare([1.0], [float("nan")], Tolerance(atol=1.0))
    assert not nan.within
    assert "NaN" in nan.reason


def test_parse_targets_keeps_order_drops_duplicates_and_names_bad_ones() -> None:
    assert parse_targets("wasm, cpu,wasm") == ("wasm", "cpu")
    with pytest.raises(ValueError, match="unknown target 'tpu'"):
        parse_targets("cpu,tpu")
    with pytest.raises(ValueError, match="no targets"):
        parse_targets(" , ")


def _result(target: str, outcome: str, **fields: object) -> TargetResult:
    return TargetResult.model_validate({"target": target, "compat": CompatResult(result=outcome, **fields)})  # type: ignore[arg-type]


def test_table_has_a_header_and_one_line_per_target() -> None:
    results = [
        _result("cpu", "pass", runtime="onnxruntime 1.32.0", max_abs_diff=1.2e-7, latency_ms=0.009),
        _result("wasm", "fail", runtime="onnxruntime-web 1.30.0", max_abs_diff=0.5, reason="score: off"),
        _result("gpu", "not-run", reason="no GPU provider"),
    ]
    lines = render_table(results).splitlines()
    assert len(lines) == 4
    assert lines[0].split()[:2] == ["TARGET", "RESULT"]
    assert lines[1].split()[:4] == ["cpu", "pass", "1.20e-07", "9.0"]
    assert lines[2].split()[:3] == ["wasm", "fail", "5.00e-01"]
    assert lines[3].split()[:3] == ["gpu", "not-run", "-"]
    assert lines[3].endswith("no GPU provider")


@pytest.mark.parametrize(
    ("outcomes", "verdict"),
    [(["pass", "pass"], "pass"), (["pass", "not-run"], "not-run"), (["pass", "fail", "not-run"], "fail")],
)
def test_overall_verdict(outcomes: list[str], verdict: str) -> None:
    results = [_result(t, o) for t, o in zip(["cpu", "wasm", "gpu"], outcomes, strict=False)]
    assert overall(results) == verdict
