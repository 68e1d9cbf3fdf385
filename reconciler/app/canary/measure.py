"""Measure a canary group: per zone, canary and stable over the newest analysis windows, and the p95 series.

The measuring policy lives here — which queries (the canary or shadow track against stable), how many windows
(enough for the policy's failure limit), how fine the chart's series; the Prometheus shell only runs queries.
A zone that cannot be measured (any `PrometheusError`) carries the error; `decide` then holds.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from reconciler.core.canary import (
    CanaryGroup,
    Measurements,
    Selector,
    SeriesPoint,
    TrackQueries,
    TrackSample,
    WindowSample,
    ZoneMeasurement,
)
from reconciler.shells.prometheus import Prometheus, PrometheusError

SERIES_POINTS = 20


def _track(prom: Prometheus, queries: TrackQueries, at: datetime) -> TrackSample:
    requests = prom.scalar(queries.requests, at) or 0.0
    errors = prom.scalar(queries.errors, at) or 0.0
    p95 = prom.scalar(queries.p95_latency_ms, at) if requests > 0 else None
    return TrackSample(p95_latency_ms=p95, requests=requests, errors=errors)


def measure_zone(
    prom: Prometheus, group: CanaryGroup, zone: str, *, window: timedelta, windows: int, at: datetime
) -> ZoneMeasurement:
    canary_track = "shadow" if group.canary.phase == "shadow" else "canary"
    canary = TrackQueries.of(Selector(zone, group.model, group.version, canary_track), window)
    stable = TrackQueries.of(Selector(zone, group.model, group.stable_version, "stable"), window)
    queries = (
        ("canary p95 (ms)", canary.p95_latency_ms),
        ("canary error rate (%)", canary.error_rate_percent),
        ("canary requests", canary.requests),
        ("stable p95 (ms)", stable.p95_latency_ms),
    )
    try:
        samples = tuple(
            WindowSample(end=end, canary=_track(prom, canary, end), stable=_track(prom, stable, end))
            for end in (at - k * window for k in range(max(windows, 1)))
        )
        points = prom.series(canary.p95_latency_ms, at - window, at, window / SERIES_POINTS)
    except PrometheusError as error:
        return ZoneMeasurement(zone=zone, queries=queries, error=str(error))
    series = tuple(SeriesPoint(t, v) for t, v in points)
    return ZoneMeasurement(zone=zone, windows=samples, series=series, queries=queries)


def measure_group(prom: Prometheus, group: CanaryGroup, *, window: timedelta, at: datetime) -> Measurements:
    """Enough windows for the policy's failure limit, for every zone of the group."""
    limit = group.policy.spec.failure_limit
    return Measurements(
        at=at,
        window=window,
        zones=tuple(measure_zone(prom, group, z, window=window, windows=limit, at=at) for z in group.zones),
    )
