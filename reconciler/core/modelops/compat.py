"""Per-target compatibility results (the spec's `CompatResult`) and the one-line-per-target table that
`edgeops model compat` prints.

`not-run` means nobody could check (no GPU, no Node): it is never a pass, and validation treats it like a fail.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import get_args

from pydantic import BaseModel, ConfigDict

from reconciler.core.spec import CompatOutcome, CompatResult, Target

ALL_TARGETS: tuple[Target, ...] = get_args(Target)


class TargetResult(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    target: Target
    compat: CompatResult


def parse_targets(text: str) -> tuple[Target, ...]:
    """`cpu,wasm,gpu` → targets in the given order, duplicates removed; names the bad entry otherwise."""
    seen: list[Target] = []
    for raw in text.split(","):
        name = raw.strip().lower()
        if not name:
            continue
        target = next((t for t in ALL_TARGETS if t == name), None)
        if target is None:
            raise ValueError(f"unknown target {raw.strip()!r} (allowed: {', '.join(ALL_TARGETS)})")
        if target not in seen:
            seen.append(target)
    if not seen:
        raise ValueError("no targets given (allowed: " + ", ".join(ALL_TARGETS) + ")")
    return tuple(seen)


def _format_diff(value: float | None) -> str:
    if value is None:
        return "-"
    return "inf" if math.isinf(value) else f"{value:.2e}"


def _format_latency(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.1f} µs"


def render_table(results: Sequence[TargetResult]) -> str:
    """Fixed-width text table, one line per target after a header line."""
    header = ("TARGET", "RESULT", "MAX|DIFF|", "LATENCY p50", "RUNTIME", "NOTE")
    rows = [
        (
            r.target,
            r.compat.result,
            _format_diff(r.compat.max_abs_diff),
            _format_latency(r.compat.latency_ms),
            " / ".join(p for p in (r.compat.runtime, r.compat.provider) if p) or "-",
            r.compat.reason or "",
        )
        for r in results
    ]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in (header, *rows)
    )


def overall(results: Sequence[TargetResult]) -> CompatOutcome:
    """fail if any target failed; pass only when every requested target passed; not-run otherwise."""
    outcomes = {r.compat.result for r in results}
    if "fail" in outcomes:
        return "fail"
    if outcomes == {"pass"}:
        return "pass"
    return "not-run"
