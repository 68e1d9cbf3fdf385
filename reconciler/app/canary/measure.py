"""Measure a canary group: per zone, canary and stable over the newest analysis windows, and the p95 series.

The measuring policy lives here — which queries (the canary or shadow track against stable), how many windows
(enough for the policy's failure limit), how fine the chart's series; the Prometheus shell only runs queries.
A zone that cannot be measured (any `PrometheusError`) carries the error; `decide` then holds.

Windows never reach back before the current step (`stepStartedAt`): the newest one is cut at the step's start
while the step is younger than one window, and older windows that would lie before it are not measured. Each
track reads its own sample counts: requests for the error rate, the histogram's `_count` for the latency (an
absent latency series or a NaN quantile is "no latency samples", never zero latency).
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
SHORTEST_WINDOW = timedelta(milliseconds=1)  # PromQL ranges are whole milliseconds


def _track(prom: Prometheus, queries: TrackQueries, at: datetime) -> TrackSample:
    requests = prom.scalar(queries.requests, at) or 0.0
    errors = prom.scalar(queries.errors, at) or 0.0
    latency_samples = prom.scalar(queries.latency_samples, at) or 0.0
    p95 = prom.scalar(queries.p95_latency_ms, at) if latency_samples > 0 else None
    return TrackSample(p95_latency_ms=p95, requests=requests, errors=errors, latency_samples=latency_samples)


def windows_since(
    at: datetime, window: timedelta, count: int, step_started: datetime
) -> tuple[tuple[datetime, datetime], ...]:
    """Up to `count` consecutive windows `(start, end)` ending at `at`, newest first, none before `step_started`."""
    spans = []
    for k in range(max(count, 1)):
        end = at - k * window
        start = max(end - window, step_started)
        if end - start < SHORTEST_WINDOW:
            break
        spans.append((start, end))
    return tuple(spans)


def measure_zone(
    prom: Prometheus,
    group: CanaryGroup,
    zone: str,
    *,
    window: timedelta,
    windows: int,
    at: datetime,
) -> ZoneMeasurement:
    canary_track = "shadow" if group.canary.phase == "shadow" else "canary"
    spans = windows_since(at, window, windows, group.canary.step_started)
    newest = spans[0][1] - spans[0][0] if spans else window
    canary_at = Selector(zone, group.model, group.version, canary_track)
    stable_at = Selector(zone, group.model, group.stable_version, "stable")
    canary = TrackQueries.of(canary_at, newest)
    stable = TrackQueries.of(stable_at, newest)
    queries = (
        ("canary p95 (ms)", canary.p95_latency_ms),
        ("canary latency samples", canary.latency_samples),
        ("canary error rate (%)", canary.error_rate_percent),
        ("canary requests", canary.requests),
        ("stable p95 (ms)", stable.p95_latency_ms),
    )
    try:
        samples = tuple(
            WindowSample(
                start=start,
                end=end,
                canary=_track(prom, TrackQueries.of(canary_at, end - start), end),
                stable=_track(prom, TrackQueries.of(stable_at, end - start), end),
            )
            for start, end in spans
        )
        points = prom.series(canary.p95_latency_ms, at - newest, at, newest / SERIES_POINTS) if spans else ()
    except PrometheusError as error:
        return ZoneMeasurement(zone=zone, queries=queries, error=str(error))
    series = tuple(SeriesPoint(t, v) for t, v in points)
    return ZoneMeasurement(zone=zone, windows=samples, series=series, queries=queries)


def measure_group(prom: Prometheus, group: CanaryGroup, *, window: timedelta, at: datetime) -> Measurements:
    """Enough windows for the policy's failure limit, for every zone of the group, all at the current step."""
    limit = group.policy.spec.failure_limit
    return Measurements(
        at=at,
        window=window,
        zones=tuple(measure_zone(prom, group, z, window=window, windows=limit, at=at) for z in group.zones),
    )
