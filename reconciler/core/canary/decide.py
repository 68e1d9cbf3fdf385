"""`decide`: the canary controller's judgement, a pure function of policy, state and measurements.

Rules, in order (DESIGN §4: no data never promotes; rollback only on evidence; rollback never waits; a guardrail
is judged on its own samples; a step advances only on evidence gathered at its current weight):

Only windows that lie at the current step (start at or after `step_started_at`) count; older ones are traffic
at another weight.

1. A zone whose newest `failure_limit` windows all failed (each failure on a metric with enough samples of its
   own) → ROLLBACK, at once, whatever the phase, pause, bake time or maintenance window.
2. Any zone unmeasured (Prometheus unreachable) → HOLD.
3. Less than one analysis window since the step started → HOLD (baking).
4. Any zone without data or with too few samples → HOLD; once the analysis has been extended
   `inconclusive_limit` times (one more window each) → HOLD as inconclusive.
5. A failing window below the failure limit → HOLD (the next interval decides).
6. Every zone of the wave passed its newest window:
   shadow, duration not over → HOLD; shadow over → ADVANCE to the first live step;
   live below the last step → ADVANCE to the next step; at the last step → PROMOTE;
   but only inside a maintenance window and when the zone is not paused, else HOLD.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from reconciler.core.canary.measurements import Measurements, TrackSample, WindowSample, ZoneMeasurement
from reconciler.core.canary.verdict import (
    CanaryStep,
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
    step_started_at: datetime  # when the current phase and weight took effect (the bake starts here)
    in_maintenance_window: bool = True
    paused: bool = False

    def __post_init__(self) -> None:
        # Every comparison below mixes these with sample times: a naive one would raise mid-analysis. The spec's
        # Timestamp type already refuses naive times in git; this refuses them from anywhere else, up front.
        for name in ("started_at", "now", "step_started_at"):
            at: datetime = getattr(self, name)
            if at.utcoffset() is None:
                raise ValueError(f"CanaryState.{name} must be timezone-aware, got {at.isoformat()}")

    @property
    def step(self) -> CanaryStep:
        return CanaryStep(self.version, self.phase, self.weight)


def judge_window(window: WindowSample, thresholds: Thresholds) -> tuple[WindowStatus, tuple[str, ...], float | None]:
    """One zone, one window: status, the checks that failed (readable), and the canary/stable p95 ratio.

    Each guardrail is judged on its own samples: the error rate once there are `min_samples` requests, the
    latency once there are `min_samples` latency observations. Any judged guardrail over its ceiling fails the
    window, whatever the others lack; a window passes only when every guardrail was judged."""
    canary, stable = window.canary, window.stable
    if canary.requests <= 0 and canary.latency_samples <= 0:
        return WindowStatus.NO_DATA, (), None
    least = thresholds.min_samples
    failures: list[str] = []
    rate = canary.error_rate_percent
    errors_judged = rate is not None and canary.requests >= least
    if errors_judged and rate is not None and rate > thresholds.error_rate_percent:
        failures.append(f"error rate {rate:.2f}% > {thresholds.error_rate_percent:g}%")
    latency_judged = canary.has_latency(least)
    ratio: float | None = None
    if latency_judged and canary.p95_latency_ms is not None:
        if canary.p95_latency_ms > thresholds.p95_latency_ms:
            failures.append(f"p95 {canary.p95_latency_ms:.1f} ms > {thresholds.p95_latency_ms:g} ms")
        # The ratio only counts when stable itself has enough latency samples to be a fair baseline.
        if stable.has_latency(least) and stable.p95_latency_ms is not None and stable.p95_latency_ms > 0:
            ratio = canary.p95_latency_ms / stable.p95_latency_ms
            if ratio > thresholds.max_ratio_to_stable:
                failures.append(f"p95 {ratio:.2f}x stable > {thresholds.max_ratio_to_stable:g}x")
    if failures:
        return WindowStatus.FAIL, tuple(failures), ratio
    if not (errors_judged and latency_judged):
        return WindowStatus.TOO_FEW_SAMPLES, (), ratio
    return WindowStatus.PASS, (), ratio


def zone_evidence(zone: ZoneMeasurement, thresholds: Thresholds, since: datetime | None = None) -> ZoneEvidence:
    """The zone's newest window judged, and how many windows in a row failed. With `since` (the start of the
    current step), windows that reach back before it are not evidence for this step and are left out."""
    if zone.error is not None:
        return ZoneEvidence(zone.zone, WindowStatus.ERROR, None, None, None, queries=zone.queries, error=zone.error)
    windows = tuple(w for w in zone.windows if since is None or w.start >= since)
    if not windows:
        return ZoneEvidence(zone.zone, WindowStatus.NO_DATA, None, None, None, queries=zone.queries)
    judged = [judge_window(w, thresholds) for w in windows]
    streak = 0
    for status, _, _ in judged:
        if status is not WindowStatus.FAIL:
            break
        streak += 1
    status, failures, ratio = judged[0]
    newest = windows[0]
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
        measured=(newest.start, newest.end),
        windows=windows,
    )


def decide(policy: CanaryPolicySpec, thresholds: Thresholds, state: CanaryState, measurements: Measurements) -> Verdict:
    evidence = tuple(
        zone_evidence(measurements.zone(name) or ZoneMeasurement(zone=name), thresholds, state.step_started_at)
        for name in state.zones
    )

    def verdict(decision: Decision, reason: str, hold: HoldReason | None = None, **step: object) -> Verdict:
        return Verdict(
            decision=decision,
            reason=reason,
            thresholds=thresholds,
            window=measurements.window,
            evidence=evidence,
            analysed=state.step,
            hold_reason=hold,
            next_phase=step.get("phase"),  # type: ignore[arg-type]
            next_weight=step.get("weight"),  # type: ignore[arg-type]
            decided_at=state.now,
        )

    if not evidence:
        return verdict(Decision.HOLD, "the canary has no zones to analyse", HoldReason.NO_DATA)

    failed = [e for e in evidence if e.consecutive_failures >= policy.failure_limit]
    if failed:
        detail = "; ".join(f"{e.zone}: {', '.join(e.failures)}" for e in failed)
        return verdict(Decision.ROLLBACK, f"{policy.failure_limit} failed analysis in a row — {detail}")

    held = _evidence_hold(policy, thresholds, state, measurements.window, evidence)
    if held is not None:
        return verdict(Decision.HOLD, *held)

    # Moving forward is a rollout: it waits for a window and an unpaused zone.
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


def _evidence_hold(
    policy: CanaryPolicySpec,
    thresholds: Thresholds,
    state: CanaryState,
    window: timedelta,
    evidence: tuple[ZoneEvidence, ...],
) -> tuple[str, HoldReason] | None:
    """Why the evidence does not carry the canary forward (no rollback being due), or None when every zone
    passed a full window at the current step."""
    unmeasured = [e for e in evidence if e.status is WindowStatus.ERROR]
    if unmeasured:
        return (
            _hold_text(unmeasured, "could not be measured", thresholds),
            HoldReason.PROMETHEUS_UNREACHABLE,
        )

    # Bake time: a step is judged on one full analysis window at its weight, never on traffic from before it.
    at_step = state.now - state.step_started_at
    if at_step < window:
        left = window - at_step
        return (
            f"baking at {_at(state)}: {_seconds(at_step)} s of the {_seconds(window)} s analysis "
            f"window so far ({_seconds(left)} s left)",
            HoldReason.BAKING,
        )

    no_data = [e for e in evidence if e.status is WindowStatus.NO_DATA]
    too_few = [e for e in evidence if e.status is WindowStatus.TOO_FEW_SAMPLES]
    if no_data or too_few:
        hold, text = (
            (HoldReason.NO_DATA, _hold_text(no_data, "has no canary data", thresholds))
            if no_data
            else (HoldReason.TOO_FEW_SAMPLES, _hold_text(too_few, "has too few canary samples", thresholds))
        )
        # The analysis of a step lasts one window; too few samples at its end extend it by one more window, at
        # most `inconclusive_limit` times. After that the step is inconclusive: it holds, and says so.
        extension = at_step // window
        if extension > policy.inconclusive_limit:
            return (
                f"inconclusive after {_seconds(at_step)} s at {_at(state)} (the analysis was extended "
                f"{policy.inconclusive_limit} time(s)): {text}; it does not advance without enough samples — "
                "raise the traffic, lower minSamples or lengthen analysisInterval",
                HoldReason.INCONCLUSIVE,
            )
        return (f"{text} (analysis extended, {extension} of {policy.inconclusive_limit})", hold)

    failing = [e for e in evidence if e.status is WindowStatus.FAIL]
    if failing:
        detail = "; ".join(
            f"{e.zone}: {', '.join(e.failures)} ({e.consecutive_failures} of {policy.failure_limit})" for e in failing
        )
        return (f"failing, below the failure limit — {detail}", HoldReason.FAILING_BELOW_LIMIT)

    # Every zone passed. A pass counts for the step only on a full window at its weight.
    partial = [e for e in evidence if e.measured is None or e.measured[1] - e.measured[0] < window]
    if partial:
        return (
            f"{', '.join(e.zone for e in partial)}: the newest window at {_at(state)} is shorter than the "
            f"{_seconds(window)} s analysis window",
            HoldReason.BAKING,
        )
    return None


def _at(state: CanaryState) -> str:
    return "shadow" if state.phase == "shadow" else f"weight {state.weight}"


def _seconds(span: timedelta) -> int:
    return int(span.total_seconds())


def _too_few(sample: TrackSample, least: int) -> str:
    if sample.requests < least:
        return f"{sample.requests:.0f} < {least} requests"
    return f"{sample.latency_samples:.0f} < {least} latency samples"


def _hold_text(affected: list[ZoneEvidence], what: str, thresholds: Thresholds) -> str:
    parts = []
    for e in affected:
        if e.status is WindowStatus.TOO_FEW_SAMPLES and e.canary is not None:
            parts.append(f"{e.zone} ({_too_few(e.canary, thresholds.min_samples)})")
        elif e.error:
            parts.append(f"{e.zone} ({e.error})")
        else:
            parts.append(e.zone)
    return f"{', '.join(parts)} {what}"
