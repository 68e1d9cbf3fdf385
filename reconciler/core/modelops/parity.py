"""Numeric parity between a target's outputs and the golden outputs.

A target passes when every element satisfies |actual - expected| <= atol + rtol * |expected| (numpy.allclose's
rule, written out so the evidence can report the worst element), shapes match, and nothing is NaN or infinite.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field


class Tolerance(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    atol: float = Field(default=1e-5, ge=0)
    rtol: float = Field(default=0.0, ge=0)


class Parity(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    within: bool
    max_abs_diff: float
    # Why it failed, for the evidence; empty when within tolerance.
    reason: str = ""


def _as_array(values: Sequence[object] | np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)


def compare(
    expected: Sequence[object] | np.ndarray, actual: Sequence[object] | np.ndarray, tolerance: Tolerance
) -> Parity:
    want = _as_array(expected)
    got = _as_array(actual)
    if want.shape != got.shape:
        return Parity(
            within=False, max_abs_diff=math.inf, reason=f"shape {list(got.shape)} != expected {list(want.shape)}"
        )
    if not np.all(np.isfinite(got)):
        return Parity(within=False, max_abs_diff=math.inf, reason="output contains NaN or infinity")
    if want.size == 0:
        return Parity(within=True, max_abs_diff=0.0)
    diff = np.abs(got - want)
    max_abs = float(diff.max())
    allowed = tolerance.atol + tolerance.rtol * np.abs(want)
    over = diff > allowed
    if bool(over.any()):
        worst = int(np.argmax(diff - allowed))
        index = tuple(int(i) for i in np.unravel_index(worst, want.shape))
        return Parity(
            within=False,
            max_abs_diff=max_abs,
            reason=(
                f"{int(over.sum())} of {want.size} values outside atol={tolerance.atol:g} rtol={tolerance.rtol:g}; "
                f"worst at {list(index)}: {float(got[index]):.9g} vs expected {float(want[index]):.9g}"
            ),
        )
    return Parity(within=True, max_abs_diff=max_abs)
