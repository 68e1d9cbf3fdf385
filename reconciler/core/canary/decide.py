"""`decide`: the canary controller's judgement, a pure function of policy, state and measurements.

Rules, in order (DESIGN §4: no data never promotes; rollback only on evidence; rollback never waits):

1. A zone whose newest `failure_limit` windows all failed (each with enough samples) → ROLLBACK, at once,
   whatever the phase, pause or maintenance window.
2. Any zone unmeasured (Prometheus unreachable), without data, or with too few canary samples → HOLD.
3. A failing window below the failure limit → HOLD (the next interval decides).
4. Every zone of the wave passed its newest window:
   shadow, duration not over → HOLD; shadow over → ADVANCE to the first live step;
   live below the last step → ADVANCE to the next step; at the last step → PROMOTE;
   but only inside a maintenance window and when the zone is not paused, else HOLD.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from reconciler.core.canary.measurements import Measurements, WindowSample, ZoneMeasurement
from reconciler.core.canary.verdict import (
    Decision,
    HoldReason,
    Thresholds,
    Verdict,
    WindowStatus,
    ZoneEvidence,
)
from reconciler.core.spec import CanaryPolicySpec


@dataclass(frozen=True)
class CanaryState:
    """Where a canary stands, as read from git (the zone files of its wave) plus the current time."""

    model: str
    version: str
    stable_version: str
    zones: tuple[str, ...]
    phase: str  # "shadow" | "live"
    weight: int
    started_at: datetime
    now: datetime
    in_maintenance_window: bool = True
    paused: bool = False


def judge_window(window: WindowSample, thresholds: Thresholds) -> tuple[WindowStatus, tuple[str, ...], float | None]:
    """One zone, one window: status, the checks that failed (readable), and the canary/stable p95 ratio."""
    canary, stable = window.canary, window.stable
    if canary.requests <= 0 or canary.p95_latency_ms is None:
        return WindowStatus.NO_DATA, (), None
    if canary.requests < thresholds.min_samples:
        return WindowStatus.TOO_FEW_SAMPLES, (), None
    failures: list[str] = []
    if canary.p95_latency_ms > thresholds.p95_latency_ms:
        failures.append(f"p95 {canary.p95_latency_ms:.1f} ms > {thresholds.p95_latency_ms:g} ms")
    rate = canary.error_rate_percent
    if rate is not None and rate > thresholds.error_rate_percent:
        failures.append(f"error rate {rate:.2f}% > {thresholds.error_rate_percent:g}%")
    ratio: float | None = None
    # The ratio only counts when stable itself has enough samples to be a fair baseline.
    if stable.p95_latency_ms is not None and stable.p95_latency_ms > 0 and stable.requests >= thresholds.min_samples:
        ratio = canary.p95_latency_ms / stable.p95_latency_ms
        if ratio > thresholds.max_ratio_to_stable:
            failures.append(f"p95 {ratio:.2f}x stable > {thresholds.max_ratio_to_stable:g}x")
    return (WindowStatus.FAIL if failures else WindowStatus.PASS), tuple(failures), ratio


def zone_evidence(zone: ZoneMeasurement, thresholds: Thresholds) -> ZoneEvidence:
    if zone.error is not None:
        return ZoneEvidence(zone.zone, WindowStatus.ERROR, None, None, None, queries=zone.queries, error=zone.error)
    if not zone.windows:
        return ZoneEvidence(zone.zone, WindowStatus.NO_DATA, None, None, None, queries=zone.queries)
    judged = [judge_window(w, thresholds) for w in zone.windows]
    streak = 0
    for status, _, _ in judged:
        if status is not WindowStatus.FAIL:
            break
        streak += 1
    status, failures, ratio = judged[0]
    newest = zone.windows[0]
    return ZoneEvidence(
        zone=zone.zone,
        status=status,
        canary=newest.canary,
        stable=newest.stable,
        ratio_to_stable=ratio,
        failures=failures,
        consecutive_failures=streak,
        queries=zone.queries,
        series=zone.series,
    )


def decide(policy: CanaryPolicySpec, thresholds: Thresholds, state: CanaryState, measurements: Measurements) -> Verdict:
    evidence = tuple(
        zone_evidence(measurements.zone(name) or ZoneMeasurement(zone=name), thresholds) for name in state.zones
    )

    def verdict(decision: Decision, reason: str, hold: HoldReason | None = None, **step: object) -> Verdict:
        return Verdict(
            decision=decision,
            reason=reason,
            thresholds=thresholds,
            window=measurements.window,
            evidence=evidence,
            hold_reason=hold,
            next_phase=step.get("phase"),  # type: ignore[arg-type]
            next_weight=step.get("weight"),  # type: ignore[arg-type]
        )

    if not evidence:
        return verdict(Decision.HOLD, "the canary has no zones to analyse", HoldReason.NO_DATA)

    failed = [e for e in evidence if e.consecutive_failures >= policy.failure_limit]
    if failed:
        detail = "; ".join(f"{e.zone}: {', '.join(e.failures)}" for e in failed)
        return verdict(Decision.ROLLBACK, f"{policy.failure_limit} failed analysis in a row — {detail}")

    for status, hold, what in (
        (WindowStatus.ERROR, HoldReason.PROMETHEUS_UNREACHABLE, "could not be measured"),
        (WindowStatus.NO_DATA, HoldReason.NO_DATA, "has no canary data"),
        (WindowStatus.TOO_FEW_SAMPLES, HoldReason.TOO_FEW_SAMPLES, "has too few canary samples"),
    ):
        affected = [e for e in evidence if e.status is status]
        if affected:
            return verdict(Decision.HOLD, _hold_text(affected, what, thresholds), hold)

    failing = [e for e in evidence if e.status is WindowStatus.FAIL]
    if failing:
        detail = "; ".join(
            f"{e.zone}: {', '.join(e.failures)} ({e.consecutive_failures} of {policy.failure_limit})" for e in failing
        )
        return verdict(Decision.HOLD, f"failing, below the failure limit — {detail}", HoldReason.FAILING_BELOW_LIMIT)

    # Every zone passed. Moving forward is a rollout: it waits for a window and an unpaused zone.
    if state.paused:
        return verdict(Decision.HOLD, "the zone is paused", HoldReason.PAUSED)
    if state.phase == "shadow":
        elapsed = state.now - state.started_at
        if policy.shadow is not None and elapsed < policy.shadow.duration:
            left = policy.shadow.duration - elapsed
            return verdict(
                Decision.HOLD,
                f"shadow analysis passing; {int(left.total_seconds())} s of the shadow phase left",
                HoldReason.SHADOW_RUNNING,
            )
        target: tuple[Decision, int | None] = (Decision.ADVANCE, policy.steps[0])
    else:
        later = [w for w in policy.steps if w > state.weight]
        target = (Decision.ADVANCE, later[0]) if later else (Decision.PROMOTE, None)
    if not state.in_maintenance_window:
        return verdict(
            Decision.HOLD,
            "analysis passing, but outside every maintenance window",
            HoldReason.OUTSIDE_MAINTENANCE_WINDOW,
        )
    if target[0] is Decision.PROMOTE:
        return verdict(Decision.PROMOTE, f"every zone passed at weight {state.weight}, the last step")
    return verdict(Decision.ADVANCE, "every zone passed the analysis", phase="live", weight=target[1])


def _hold_text(affected: list[ZoneEvidence], what: str, thresholds: Thresholds) -> str:
    parts = []
    for e in affected:
        if e.status is WindowStatus.TOO_FEW_SAMPLES and e.canary is not None:
            parts.append(f"{e.zone} ({e.canary.requests:.0f} < {thresholds.min_samples} requests)")
        elif e.error:
            parts.append(f"{e.zone} ({e.error})")
        else:
            parts.append(e.zone)
    return f"{', '.join(parts)} {what}"
