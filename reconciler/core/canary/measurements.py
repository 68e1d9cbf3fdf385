"""What the analysis measured, as immutable values: per zone, per track, per analysis window.

`None` means "no data" (no series, NaN, or no requests): it is never read as zero. A zone whose measurement
could not be taken at all (Prometheus unreachable, query rejected) carries `error` instead of windows.

Each guardrail has its own samples: the error rate is judged on `requests`, the latency on `latency_samples`
(observations of the latency histogram, which records only messages that were answered). A canary whose every
request fails has many requests and no latency samples: its errors are evidence, its p95 is not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class TrackSample:
    """One track (stable or canary) over one analysis window."""

    p95_latency_ms: float | None
    requests: float
    errors: float
    latency_samples: float  # observations behind `p95_latency_ms` (the histogram's count)

    def has_latency(self, min_samples: int) -> bool:
        return self.p95_latency_ms is not None and self.latency_samples >= min_samples

    @property
    def error_rate_percent(self) -> float | None:
        return None if self.requests <= 0 else 100.0 * self.errors / self.requests


NO_DATA = TrackSample(p95_latency_ms=None, requests=0.0, errors=0.0, latency_samples=0.0)


@dataclass(frozen=True)
class WindowSample:
    """Canary and stable over `[start, end]`: one analysis window, cut at the start of the current step (a window
    never reaches back to traffic at an earlier weight)."""

    start: datetime
    end: datetime
    canary: TrackSample
    stable: TrackSample

    @property
    def length(self) -> timedelta:
        return self.end - self.start


@dataclass(frozen=True)
class SeriesPoint:
    at: datetime
    p95_latency_ms: float | None


@dataclass(frozen=True)
class ZoneMeasurement:
    """One zone of a canary. `windows` are consecutive analysis windows, newest first (the failure limit
    looks back over several); `series` is the canary's p95 over the newest window, for the chart."""

    zone: str
    windows: tuple[WindowSample, ...] = ()
    series: tuple[SeriesPoint, ...] = ()
    queries: tuple[tuple[str, str], ...] = ()  # (what, PromQL) as run for the newest window
    error: str | None = None


@dataclass(frozen=True)
class Measurements:
    """Everything one analysis of one canary (a wave of zones) measured."""

    at: datetime
    window: timedelta
    zones: tuple[ZoneMeasurement, ...]

    def zone(self, name: str) -> ZoneMeasurement | None:
        return next((z for z in self.zones if z.zone == name), None)
