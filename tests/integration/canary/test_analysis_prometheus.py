"""Canary analysis against a real Prometheus scraping a real exporter process. Matrix, one zone each, measured in
the same pass: healthy (→ advance), slow (→ rollback on p95), erroring (→ rollback on error rate), every request
failing with a latency histogram that never moves (NaN p95) or with no latency series at all (→ rollback on the
error rate, never "no data"), too few samples (→ hold), no canary traffic at all (→ hold, no data); a step that
started seconds ago (→ its window is cut at the step's start: healthy holds baking, failing still rolls back);
then Prometheus stopped (→ hold, unreachable) and a server that never existed (→ hold). Evidence carries the
PromQL, each track's request and latency-sample counts and the p95 series."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from reconciler.app.canary import measure_group
from reconciler.core.canary import CanaryGroup, CanaryState, Decision, HoldReason, WindowStatus, ZoneEvidence, decide
from reconciler.core.canary.verdict import Thresholds
from reconciler.core.spec.policy import CanaryPolicy
from reconciler.core.spec.zone import Canary
from reconciler.sandbox import free_port
from reconciler.shells.prometheus import Prometheus, PrometheusUnreachable
from tests.fixtures.prometheus import Exporter, PrometheusServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

WINDOW = timedelta(seconds=5)
LIMITS = Thresholds(p95_latency_ms=30, error_rate_percent=1.0, max_ratio_to_stable=1.5, min_samples=200)
POLICY = CanaryPolicy.model_validate(
    {
        "apiVersion": "edgeops.io/v1alpha1",
        "kind": "CanaryPolicy",
        "metadata": {"name": "fast"},
        "spec": {"steps": [10, 25, 50, 100], "analysisInterval": "5s", "metrics": {"minSamples": 200}},
    }
)
SCENARIOS = {  # zone: (canary rate/s, canary p95 ms, canary error ratio)
    "healthy": (200, 12.0, 0.0),
    "slow": (200, 90.0, 0.0),
    "erroring": (200, 12.0, 0.2),
    "sparse": (10, 12.0, 0.0),
    "all-failing": (200, 12.0, 1.0),
    "no-histogram": (200, 12.0, 1.0),
}


def group(zone: str, step_started: datetime | None = None) -> CanaryGroup:
    block: dict[str, object] = {"version": "1.1.0", "weight": 10, "phase": "live", "startedAt": "2026-11-27T09:00:00Z"}
    if step_started is not None:
        block["stepStartedAt"] = step_started.isoformat()
    return CanaryGroup("fraud-scoring", "1.1.0", "1.0.0", POLICY, (zone,), None, Canary.model_validate(block))


def state(zone: str, now: datetime, step_started: datetime | None = None) -> CanaryState:
    # By default the step began two windows ago: long enough to be judged, too recent to be inconclusive.
    step = step_started or now - 2 * WINDOW
    return CanaryState("fraud-scoring", "1.1.0", "1.0.0", (zone,), "live", 10, now - timedelta(hours=1), now, step)


def profile() -> list[dict[str, object]]:
    entries: list[dict[str, object]] = []
    for zone, (rate, p95, errors) in {**SCENARIOS, "silent": (0, 0, 0)}.items():
        base = {"zone": zone, "model": "fraud-scoring"}
        entries.append({**base, "version": "1.0.0", "track": "stable", "rate": 200, "p95Ms": 10.0, "errorRatio": 0})
        if rate:
            canary = {**base, "version": "1.1.0", "track": "canary", "rate": rate, "p95Ms": p95, "errorRatio": errors}
            entries.append({**canary, "histogram": zone != "no-histogram"})
    return entries


def test_scenarios_against_real_prometheus(prometheus_with_exporter: tuple[PrometheusServer, Exporter]) -> None:
    server, exporter = prometheus_with_exporter
    exporter.set_profile(profile())
    # Wait for data, not for a clock: a full window of the sparse canary's traffic must be in the TSDB.
    server.wait_for_value(
        'sum(increase(edgeops_requests_total{zone="healthy",track="canary"}[5s]))',
        lambda n: n >= 600,
        "a full analysis window of canary traffic",
    )
    prom = Prometheus(server.url)
    now = datetime.now(UTC)
    verdicts = {
        zone: decide(POLICY.spec, LIMITS, state(zone, now), measure_group(prom, group(zone), window=WINDOW, at=now))
        for zone in (*SCENARIOS, "silent")
    }
    summary = {zone: v.summary() for zone, v in verdicts.items()}
    assert verdicts["healthy"].decision is Decision.ADVANCE, summary
    assert verdicts["healthy"].next_weight == 25
    assert verdicts["slow"].decision is Decision.ROLLBACK, summary
    assert any(f.startswith("p95") for f in verdicts["slow"].evidence[0].failures)
    assert verdicts["erroring"].decision is Decision.ROLLBACK, summary
    assert any(f.startswith("error rate") for f in verdicts["erroring"].evidence[0].failures)
    assert verdicts["sparse"].hold_reason is HoldReason.TOO_FEW_SAMPLES, summary
    assert verdicts["silent"].hold_reason is HoldReason.NO_DATA, summary
    # An hour at the step with too few samples is past every extension: inconclusive, still a hold.
    long_thin = decide(
        POLICY.spec,
        LIMITS,
        state("sparse", now, now - timedelta(hours=1)),
        measure_group(prom, group("sparse"), window=WINDOW, at=now),
    )
    assert (long_thin.decision, long_thin.hold_reason) == (Decision.HOLD, HoldReason.INCONCLUSIVE)
    for zone in ("all-failing", "no-histogram"):
        # Errors on enough requests are evidence on their own: no latency sample, no p95, still a rollback.
        assert verdicts[zone].decision is Decision.ROLLBACK, summary
        failing = verdicts[zone].evidence[0]
        assert failing.failures == ("error rate 100.00% > 1%",), summary
        assert failing.canary is not None
        assert failing.canary.requests >= 600
        assert (failing.canary.latency_samples, failing.canary.p95_latency_ms) == (0.0, None)
    # The counts come from their own series: requests from the counter, latency samples from the histogram.
    assert healthy_counts_agree(verdicts["healthy"].evidence[0])

    # A step that began two seconds ago: only those two seconds are measured, whatever came before.
    step = now - timedelta(seconds=2)
    fresh = {
        zone: decide(
            POLICY.spec,
            LIMITS,
            state(zone, now, step),
            measure_group(prom, group(zone, step), window=WINDOW, at=now),
        )
        for zone in ("healthy", "erroring", "all-failing")
    }
    young = fresh["healthy"]
    assert (young.decision, young.hold_reason) == (Decision.HOLD, HoldReason.BAKING), young.summary()
    assert young.evidence[0].measured == (step, now)
    assert young.evidence[0].canary is not None
    assert young.evidence[0].canary.requests < verdicts["healthy"].evidence[0].canary.requests  # type: ignore[union-attr]
    assert all("[2s]" in q for _, q in young.evidence[0].queries)
    assert fresh["erroring"].decision is Decision.ROLLBACK, fresh["erroring"].summary()
    assert fresh["all-failing"].decision is Decision.ROLLBACK, fresh["all-failing"].summary()

    healthy = verdicts["healthy"].evidence[0]
    assert healthy.canary is not None
    assert healthy.canary.p95_latency_ms is not None
    assert 5 < healthy.canary.p95_latency_ms < 25
    assert healthy.stable is not None
    assert healthy.stable.requests > 500
    assert len(healthy.series) >= 5
    assert any("edgeops_inference_e2e_seconds_bucket" in q for _, q in healthy.queries)

    server.stop()
    down = measure_group(prom, group("slow"), window=WINDOW, at=datetime.now(UTC))
    verdict = decide(POLICY.spec, LIMITS, state("slow", now), down)
    assert (verdict.decision, verdict.hold_reason) == (Decision.HOLD, HoldReason.PROMETHEUS_UNREACHABLE)
    assert verdict.evidence[0].status is WindowStatus.ERROR


def healthy_counts_agree(evidence: ZoneEvidence) -> bool:
    """Every healthy request is answered: the histogram's count matches the request counter (to scrape jitter)."""
    canary = evidence.canary
    assert canary is not None
    return canary.errors == 0 and abs(canary.latency_samples - canary.requests) <= 0.05 * canary.requests


def test_a_server_that_never_answered_is_unreachable_not_empty() -> None:
    prom = Prometheus(f"http://127.0.0.1:{free_port()}", timeout=5)
    with pytest.raises(PrometheusUnreachable, match="did not answer") as raised:
        prom.scalar("up", datetime.now(UTC))
    assert raised.value.__cause__ is not None
