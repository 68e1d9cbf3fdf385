"""The PromQL the canary analysis runs, built from plain values (no I/O): one place for metric names.

The runtime (`runtime/metrics.py`, listed in `docs/runtime.md`) exports, per zone, model, version, track
(stable | canary | shadow) and provider:

    edgeops_inference_e2e_seconds      histogram, end to end (sensor timestamp to result acknowledged)
    edgeops_requests_total             counter, input messages taken from a source
    edgeops_errors_total{reason}       counter, failed messages (malformed input, inference, publish)

Queries sum over the labels they do not name (provider, reason), so a zone serving a model on two providers
is judged as one.

Each guardrail is read with its own sample count: the error rate over `edgeops_requests_total`, the p95 over the
histogram's own `_count` (the runtime observes latency only for answered messages, so a canary whose every
request fails or is dead-lettered has requests and errors but no latency samples, and its p95 is NaN).

Every query here is an instant vector over `[window]`, evaluated by the caller at one time, so evidence can be
re-run by hand: the PR shows the exact text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

LATENCY_HISTOGRAM = "edgeops_inference_e2e_seconds"
REQUESTS_COUNTER = "edgeops_requests_total"
ERRORS_COUNTER = "edgeops_errors_total"

QUANTILE = 0.95


@dataclass(frozen=True)
class Selector:
    """Which series a query reads: one zone, model, version and track."""

    zone: str
    model: str
    version: str
    track: str

    def matchers(self) -> str:
        # Label values come from validated spec fields (DNS labels, semver), but escape anyway: a query is text.
        pairs = (("zone", self.zone), ("model", self.model), ("version", self.version), ("track", self.track))
        return ",".join(f'{key}="{_escape(value)}"' for key, value in pairs)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def range_of(window: timedelta) -> str:
    """A PromQL range such as `60s` or `1500ms` (Prometheus accepts integral units only)."""
    millis = round(window.total_seconds() * 1000)
    if millis <= 0:
        raise ValueError(f"an analysis window must be positive, got {window}")
    return f"{millis // 1000}s" if millis % 1000 == 0 else f"{millis}ms"


def p95_latency_ms(selector: Selector, window: timedelta) -> str:
    rate = f"rate({LATENCY_HISTOGRAM}_bucket{{{selector.matchers()}}}[{range_of(window)}])"
    return f"1000 * histogram_quantile({QUANTILE}, sum by (le) ({rate}))"


def latency_samples(selector: Selector, window: timedelta) -> str:
    return f"sum(increase({LATENCY_HISTOGRAM}_count{{{selector.matchers()}}}[{range_of(window)}]))"


def request_count(selector: Selector, window: timedelta) -> str:
    return f"sum(increase({REQUESTS_COUNTER}{{{selector.matchers()}}}[{range_of(window)}]))"


def error_count(selector: Selector, window: timedelta) -> str:
    return f"sum(increase({ERRORS_COUNTER}{{{selector.matchers()}}}[{range_of(window)}]))"


def error_rate_percent(selector: Selector, window: timedelta) -> str:
    return f"100 * {error_count(selector, window)} / {request_count(selector, window)}"


@dataclass(frozen=True)
class TrackQueries:
    p95_latency_ms: str
    error_rate_percent: str
    requests: str
    errors: str
    latency_samples: str

    @classmethod
    def of(cls, selector: Selector, window: timedelta) -> TrackQueries:
        return cls(
            p95_latency_ms=p95_latency_ms(selector, window),
            error_rate_percent=error_rate_percent(selector, window),
            requests=request_count(selector, window),
            errors=error_count(selector, window),
            latency_samples=latency_samples(selector, window),
        )
