"""The canary controller's pure core: PromQL text, measurements, the `decide` judgement, waves, zone-file edits,
the canary-only merge guardrail and what a canary pull request says.

verdict = decide(policy.spec, thresholds_for(spec, policy, model), state, measurements)
verdict.decision      advance | promote | hold | rollback
verdict.evidence      per zone: values, failed checks, PromQL, p95 series
"""

from reconciler.core.canary.decide import CanaryState, decide, judge_window, zone_evidence
from reconciler.core.canary.evidence_comments import (
    EVIDENCE_MARKER,
    LATEST_EVIDENCE_MARKER,
    evidence,
    evidence_row,
    window_charts,
)
from reconciler.core.canary.guard import canary_only_problems
from reconciler.core.canary.measurements import (
    NO_DATA,
    Measurements,
    SeriesPoint,
    TrackSample,
    WindowSample,
    ZoneMeasurement,
)
from reconciler.core.canary.promql import Selector, TrackQueries
from reconciler.core.canary.pull_request import (
    CANARY_MARKER,
    LATEST_MARKER,
    body,
    commit_message,
    evidence_text,
    labels,
    title,
)
from reconciler.core.canary.verdict import (
    CanaryStep,
    Decision,
    HoldReason,
    Thresholds,
    Verdict,
    WindowStatus,
    ZoneEvidence,
)
from reconciler.core.canary.waves import CanaryGroup, canary_groups, thresholds_for, wave_of
from reconciler.core.canary.windows import inside_window
from reconciler.core.canary.zonedoc import ZoneFileError, parse_zone
from reconciler.core.canary.zonefile import StaleCanary, promote, rollback, set_step

__all__ = [
    "CANARY_MARKER",
    "EVIDENCE_MARKER",
    "LATEST_EVIDENCE_MARKER",
    "LATEST_MARKER",
    "NO_DATA",
    "CanaryGroup",
    "CanaryState",
    "CanaryStep",
    "Decision",
    "HoldReason",
    "Measurements",
    "Selector",
    "SeriesPoint",
    "StaleCanary",
    "Thresholds",
    "TrackQueries",
    "TrackSample",
    "Verdict",
    "WindowSample",
    "WindowStatus",
    "ZoneEvidence",
    "ZoneFileError",
    "ZoneMeasurement",
    "body",
    "canary_groups",
    "canary_only_problems",
    "commit_message",
    "decide",
    "evidence",
    "evidence_row",
    "evidence_text",
    "inside_window",
    "judge_window",
    "labels",
    "parse_zone",
    "promote",
    "rollback",
    "set_step",
    "thresholds_for",
    "title",
    "wave_of",
    "window_charts",
    "zone_evidence",
]
