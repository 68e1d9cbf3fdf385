"""The canary controller's pure core: PromQL text, measurements, the `decide` judgement, waves and zone-file edits.

verdict = decide(policy.spec, thresholds_for(spec, policy, model), state, measurements)
verdict.decision      advance | promote | hold | rollback
verdict.evidence      per zone: values, failed checks, PromQL, p95 series
"""

from reconciler.core.canary.decide import CanaryState, decide, judge_window, zone_evidence
from reconciler.core.canary.measurements import (
    NO_DATA,
    Measurements,
    SeriesPoint,
    TrackSample,
    WindowSample,
    ZoneMeasurement,
)
from reconciler.core.canary.verdict import Decision, HoldReason, Thresholds, Verdict, WindowStatus, ZoneEvidence
from reconciler.core.canary.waves import CanaryGroup, canary_groups, thresholds_for, wave_of
from reconciler.core.canary.windows import inside_window

__all__ = [
    "NO_DATA",
    "CanaryGroup",
    "CanaryState",
    "Decision",
    "HoldReason",
    "Measurements",
    "SeriesPoint",
    "Thresholds",
    "TrackSample",
    "Verdict",
    "WindowSample",
    "WindowStatus",
    "ZoneEvidence",
    "ZoneMeasurement",
    "canary_groups",
    "decide",
    "inside_window",
    "judge_window",
    "thresholds_for",
    "wave_of",
    "zone_evidence",
]
