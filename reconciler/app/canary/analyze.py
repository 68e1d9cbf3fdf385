"""Analyse every canary of a region: group zones into waves, measure in Prometheus, decide."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from reconciler.app.canary.measure import measure_group
from reconciler.core.canary import (
    CanaryGroup,
    CanaryState,
    Verdict,
    canary_groups,
    decide,
    inside_window,
    thresholds_for,
)
from reconciler.core.spec import FleetSpec
from reconciler.shells.prometheus import Prometheus


@dataclass(frozen=True)
class Analysis:
    group: CanaryGroup
    state: CanaryState
    verdict: Verdict


@dataclass(frozen=True)
class AnalyzeOptions:
    window: timedelta | None = None  # default: the policy's analysisInterval
    respect_maintenance_windows: bool = True


def state_of(spec: FleetSpec, group: CanaryGroup, now: datetime, options: AnalyzeOptions) -> CanaryState:
    zones = [z for z in (spec.zone(name) for name in group.zones) if z is not None]
    fleet_windows = spec.fleet.spec.maintenance_windows
    # A zone's own windows replace the fleet's; a wave may move only when every zone of it is inside one.
    in_window = not options.respect_maintenance_windows or all(
        inside_window(z.spec.maintenance_windows or fleet_windows, now) for z in zones
    )
    return CanaryState(
        model=group.model,
        version=group.version,
        stable_version=group.stable_version,
        zones=group.zones,
        phase=group.canary.phase,
        weight=group.canary.weight,
        started_at=group.canary.started_at,
        now=now,
        step_started_at=group.canary.step_started,
        in_maintenance_window=in_window,
        paused=any(z.spec.paused for z in zones),
    )


def analyze_group(
    spec: FleetSpec, group: CanaryGroup, prom: Prometheus, now: datetime, options: AnalyzeOptions
) -> Analysis:
    """Measure one canary group and decide."""
    window = options.window or group.policy.spec.analysis_interval
    measurements = measure_group(prom, group, window=window, at=now)
    state = state_of(spec, group, now, options)
    verdict = decide(group.policy.spec, thresholds_for(spec, group.policy, group.model), state, measurements)
    return Analysis(group, state, verdict)


def analyze_region(
    spec: FleetSpec, region: str, prom: Prometheus, now: datetime, options: AnalyzeOptions | None = None
) -> tuple[Analysis, ...]:
    """Every canary of the region, in order (one that fails to be analysed raises; the controller's pass keeps each
    canary's failure to itself, see `controller`)."""
    options = options or AnalyzeOptions()
    return tuple(analyze_group(spec, group, prom, now, options) for group in canary_groups(spec, region))
