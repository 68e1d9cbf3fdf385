"""The outcome of one analysis: a `Verdict` (what to do next) with the evidence per zone that justifies it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from reconciler.core.canary.measurements import SeriesPoint, TrackSample, WindowSample


class Decision(StrEnum):
    ADVANCE = "advance"  # to the next live weight (or from shadow to the first live step)
    PROMOTE = "promote"  # the canary version becomes the stable version; the canary is removed
    HOLD = "hold"  # keep the current weight and look again next interval
    ROLLBACK = "rollback"  # remove the canary; stable takes all traffic

    @property
    def changes_git(self) -> bool:
        return self is not Decision.HOLD


class HoldReason(StrEnum):
    TOO_FEW_SAMPLES = "too-few-samples"
    NO_DATA = "no-data"
    PROMETHEUS_UNREACHABLE = "prometheus-unreachable"
    FAILING_BELOW_LIMIT = "failing-below-limit"
    SHADOW_RUNNING = "shadow-running"
    OUTSIDE_MAINTENANCE_WINDOW = "outside-maintenance-window"
    PAUSED = "paused"
    BAKING = "baking"  # less than one analysis window at the current weight
    INCONCLUSIVE = "inconclusive"  # still too few samples after every extension of the analysis


class WindowStatus(StrEnum):
    PASS = "pass"  # noqa: S105 (a status, not a password)
    FAIL = "fail"
    TOO_FEW_SAMPLES = "too-few-samples"
    NO_DATA = "no-data"
    ERROR = "error"  # the measurement could not be taken


@dataclass(frozen=True)
class CanaryStep:
    """The canary a verdict was made for: its version and step (phase and weight), as read from git. An edit
    for this verdict applies only while the zone file still holds exactly this."""

    version: str
    phase: str  # "shadow" | "live"
    weight: int

    def describe(self) -> str:
        return f"{self.version} in shadow" if self.phase == "shadow" else f"{self.version} live at {self.weight}%"


@dataclass(frozen=True)
class Thresholds:
    """What a canary must stay under, resolved from the policy, the model's SLO and the fleet's SLO."""

    p95_latency_ms: float
    error_rate_percent: float
    max_ratio_to_stable: float
    min_samples: int


@dataclass(frozen=True)
class ZoneEvidence:
    """Why a zone passed or failed: the newest window's values, the failed checks and the queries that ran."""

    zone: str
    status: WindowStatus
    canary: TrackSample | None
    stable: TrackSample | None
    ratio_to_stable: float | None
    failures: tuple[str, ...] = ()
    consecutive_failures: int = 0
    queries: tuple[tuple[str, str], ...] = ()
    series: tuple[SeriesPoint, ...] = ()
    error: str | None = None
    measured: tuple[datetime, datetime] | None = None  # the newest window judged: (start, end)
    windows: tuple[WindowSample, ...] = ()  # every window judged, newest first (the per-window charts)


@dataclass(frozen=True)
class Verdict:
    decision: Decision
    reason: str
    thresholds: Thresholds
    window: timedelta
    evidence: tuple[ZoneEvidence, ...]
    analysed: CanaryStep
    hold_reason: HoldReason | None = None
    next_phase: str | None = None  # "live" after an advance; None when unchanged or the canary ends
    next_weight: int | None = None
    decided_at: datetime | None = None  # when the analysis ran; an advance starts its step's bake then

    def summary(self) -> str:
        if self.decision is Decision.ADVANCE:
            return f"advance to {self.next_phase} weight {self.next_weight}: {self.reason}"
        return f"{self.decision.value}: {self.reason}"
