"""decide(): the canary judgement. Matrix: phase (shadow running / shadow over / live mid-steps / last step) x
evidence (pass, fail below and at the failure limit, no data, too few samples, unreachable) x maintenance window
x paused x waves of several zones; each guardrail on its own samples (all requests failing, no latency samples →
rollback); bake time at the current step (baking, windows before the step ignored, a failing partial window
still rolls back); too few samples extended, then inconclusive; the verdict names the canary step it was made
for. Hypothesis properties: without enough samples nothing ever advances or promotes, a rollback always rests
on failed windows with enough samples, and samples taken before the current step never change the decision."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.core.canary import (
    NO_DATA,
    CanaryState,
    Decision,
    HoldReason,
    Measurements,
    Thresholds,
    TrackSample,
    WindowSample,
    WindowStatus,
    ZoneMeasurement,
    decide,
)
from reconciler.core.spec.policy import CanaryPolicySpec

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
WINDOW = timedelta(seconds=10)
LIMITS = Thresholds(p95_latency_ms=30, error_rate_percent=1.0, max_ratio_to_stable=1.5, min_samples=200)


def policy(failure_limit: int = 1, shadow: str | None = "10m") -> CanaryPolicySpec:
    body: dict[str, object] = {
        "steps": [10, 25, 50, 100],
        "analysisInterval": "10s",
        "failureLimit": failure_limit,
    }
    if shadow:
        body["shadow"] = {"duration": shadow, "mirrorPercent": 100}
    return CanaryPolicySpec.model_validate(body)


def state(phase: str = "live", weight: int = 10, zones: tuple[str, ...] = ("ams-01",), **kw: object) -> CanaryState:
    # The step started three windows ago: every window the tests build lies at the current weight.
    defaults: dict[str, object] = {
        "started_at": NOW - timedelta(hours=1),
        "now": NOW,
        "step_started_at": NOW - 3 * WINDOW,
    }
    defaults.update(kw)
    return CanaryState(
        model="fraud-scoring",
        version="1.1.0",
        stable_version="1.0.0",
        zones=zones,
        phase=phase,
        weight=weight,
        **defaults,  # type: ignore[arg-type]
    )


def track(
    p95: float | None = 12.0, requests: float = 1000, errors: float = 0, latency: float | None = None
) -> TrackSample:
    # The runtime observes latency only for answered messages: by default every request that did not fail.
    answered = requests - errors if latency is None else latency
    return TrackSample(p95_latency_ms=p95, requests=requests, errors=errors, latency_samples=answered)


def window(canary: TrackSample, stable: TrackSample | None = None, age: int = 0) -> WindowSample:
    end = NOW - age * WINDOW
    return WindowSample(start=end - WINDOW, end=end, canary=canary, stable=stable or track(p95=10.0))


def measured(*zones: ZoneMeasurement) -> Measurements:
    return Measurements(at=NOW, window=WINDOW, zones=zones)


def zone(name: str = "ams-01", *samples: TrackSample) -> ZoneMeasurement:
    return ZoneMeasurement(zone=name, windows=tuple(window(s, age=i) for i, s in enumerate(samples)))


HEALTHY, SLOW, ERRORING = track(), track(p95=80.0), track(errors=50)


@pytest.mark.parametrize(
    ("weight", "expected", "next_weight"),
    [
        (10, Decision.ADVANCE, 25),
        (25, Decision.ADVANCE, 50),
        (50, Decision.ADVANCE, 100),
        (100, Decision.PROMOTE, None),
    ],
)
def test_a_healthy_live_canary_walks_the_steps_then_promotes(
    weight: int, expected: Decision, next_weight: int | None
) -> None:
    verdict = decide(policy(), LIMITS, state(weight=weight), measured(zone("ams-01", HEALTHY)))
    assert verdict.decision is expected
    assert verdict.next_weight == next_weight
    assert verdict.evidence[0].status is WindowStatus.PASS


@pytest.mark.parametrize(("sample", "failure"), [(SLOW, "p95 80.0 ms > 30 ms"), (ERRORING, "error rate 5.00% > 1%")])
def test_a_failing_canary_rolls_back_with_the_failed_check_as_evidence(sample: TrackSample, failure: str) -> None:
    verdict = decide(policy(), LIMITS, state(), measured(zone("ams-01", sample)))
    assert verdict.decision is Decision.ROLLBACK
    assert failure in verdict.evidence[0].failures
    assert failure in verdict.reason


def test_ratio_to_stable_fails_even_under_the_absolute_ceiling() -> None:
    sample = window(track(p95=25.0), stable=track(p95=10.0))
    verdict = decide(policy(), LIMITS, state(), measured(ZoneMeasurement("ams-01", windows=(sample,))))
    assert verdict.decision is Decision.ROLLBACK
    assert verdict.evidence[0].ratio_to_stable == pytest.approx(2.5)


def test_failure_limit_counts_consecutive_failed_windows_newest_first() -> None:
    two = policy(failure_limit=2)
    once = decide(two, LIMITS, state(), measured(zone("ams-01", SLOW, HEALTHY)))
    assert (once.decision, once.hold_reason) == (Decision.HOLD, HoldReason.FAILING_BELOW_LIMIT)
    assert "1 of 2" in once.reason
    twice = decide(two, LIMITS, state(), measured(zone("ams-01", SLOW, SLOW)))
    assert twice.decision is Decision.ROLLBACK
    # An older failure separated by a passing window is not a streak.
    assert decide(two, LIMITS, state(), measured(zone("ams-01", HEALTHY, SLOW))).decision is Decision.ADVANCE


@pytest.mark.parametrize(
    ("measurement", "reason"),
    [
        (zone("ams-01", track(requests=50)), HoldReason.TOO_FEW_SAMPLES),
        (zone("ams-01", track(p95=80.0, requests=50)), HoldReason.TOO_FEW_SAMPLES),
        (zone("ams-01", NO_DATA), HoldReason.NO_DATA),
        (zone("ams-01"), HoldReason.NO_DATA),
        (ZoneMeasurement("ams-01", error="connection refused"), HoldReason.PROMETHEUS_UNREACHABLE),
    ],
)
def test_without_evidence_the_canary_holds(measurement: ZoneMeasurement, reason: HoldReason) -> None:
    verdict = decide(policy(), LIMITS, state(weight=100), measured(measurement))
    assert (verdict.decision, verdict.hold_reason) == (Decision.HOLD, reason)


def test_too_few_samples_names_the_count() -> None:
    verdict = decide(policy(), LIMITS, state(), measured(zone("ams-01", track(requests=50))))
    assert "50 < 200 requests" in verdict.reason


def test_a_missing_zone_measurement_is_no_data() -> None:
    verdict = decide(policy(), LIMITS, state(zones=("ams-01", "fra-02")), measured(zone("ams-01", HEALTHY)))
    assert verdict.hold_reason is HoldReason.NO_DATA
    assert "fra-02" in verdict.reason


def test_shadow_phase_holds_until_its_duration_then_goes_live_at_the_first_step() -> None:
    young = state(phase="shadow", weight=0, started_at=NOW - timedelta(minutes=3))
    held = decide(policy(), LIMITS, young, measured(zone("ams-01", HEALTHY)))
    assert held.hold_reason is HoldReason.SHADOW_RUNNING
    old = state(phase="shadow", weight=0, started_at=NOW - timedelta(minutes=11))
    moved = decide(policy(), LIMITS, old, measured(zone("ams-01", HEALTHY)))
    assert (moved.decision, moved.next_phase, moved.next_weight) == (Decision.ADVANCE, "live", 10)


def test_a_failing_shadow_rolls_back_before_its_duration() -> None:
    young = state(phase="shadow", weight=0, started_at=NOW - timedelta(minutes=1))
    assert decide(policy(), LIMITS, young, measured(zone("ams-01", SLOW))).decision is Decision.ROLLBACK


def test_rollouts_wait_for_a_window_and_an_unpaused_zone_but_rollbacks_do_not() -> None:
    closed = state(in_maintenance_window=False)
    assert decide(policy(), LIMITS, closed, measured(zone("ams-01", HEALTHY))).hold_reason is (
        HoldReason.OUTSIDE_MAINTENANCE_WINDOW
    )
    assert decide(policy(), LIMITS, closed, measured(zone("ams-01", SLOW))).decision is Decision.ROLLBACK
    paused = state(paused=True)
    assert decide(policy(), LIMITS, paused, measured(zone("ams-01", HEALTHY))).hold_reason is HoldReason.PAUSED
    assert decide(policy(), LIMITS, paused, measured(zone("ams-01", SLOW))).decision is Decision.ROLLBACK


def test_a_wave_moves_only_when_every_zone_passes_and_rolls_back_when_any_fails() -> None:
    wave = state(zones=("ams-01", "fra-02", "lis-03"))
    good = measured(zone("ams-01", HEALTHY), zone("fra-02", HEALTHY), zone("lis-03", HEALTHY))
    assert decide(policy(), LIMITS, wave, good).decision is Decision.ADVANCE
    one_thin = measured(zone("ams-01", HEALTHY), zone("fra-02", track(requests=10)), zone("lis-03", HEALTHY))
    assert decide(policy(), LIMITS, wave, one_thin).hold_reason is HoldReason.TOO_FEW_SAMPLES
    one_slow = measured(zone("ams-01", HEALTHY), zone("fra-02", track(requests=10)), zone("lis-03", SLOW))
    verdict = decide(policy(), LIMITS, wave, one_slow)
    assert verdict.decision is Decision.ROLLBACK
    assert [e.zone for e in verdict.evidence] == ["ams-01", "fra-02", "lis-03"]


tracks = st.builds(
    TrackSample,
    p95_latency_ms=st.one_of(st.none(), st.floats(min_value=0.1, max_value=500)),
    requests=st.floats(min_value=0, max_value=5000),
    errors=st.floats(min_value=0, max_value=100),
    latency_samples=st.floats(min_value=0, max_value=5000),
)
zone_measurements = st.builds(
    lambda name, samples, error: ZoneMeasurement(
        zone=name, windows=tuple(window(s, age=i) for i, s in enumerate(samples)), error=error
    ),
    name=st.sampled_from(["ams-01", "fra-02", "lis-03"]),
    samples=st.lists(tracks, max_size=3),
    error=st.one_of(st.none(), st.just("unreachable")),
)


@settings(max_examples=400, deadline=None)
@given(
    zones=st.lists(zone_measurements, min_size=1, max_size=3, unique_by=lambda z: z.zone),
    weight=st.sampled_from([10, 25, 50, 100]),
    failure_limit=st.integers(min_value=1, max_value=3),
    phase=st.sampled_from(["shadow", "live"]),
    window_open=st.booleans(),
)
def test_no_input_without_enough_samples_ever_promotes_or_advances(
    zones: list[ZoneMeasurement], weight: int, failure_limit: int, phase: str, window_open: bool
) -> None:
    names = ("ams-01", "fra-02", "lis-03")
    canary_state = state(
        phase=phase,
        weight=0 if phase == "shadow" else weight,
        zones=names,
        started_at=NOW - timedelta(hours=2),
        in_maintenance_window=window_open,
    )
    verdict = decide(policy(failure_limit), LIMITS, canary_state, measured(*zones))
    by_zone = {z.zone: z for z in zones}
    enough = all(
        name in by_zone
        and by_zone[name].error is None
        and by_zone[name].windows
        and by_zone[name].windows[0].canary.requests >= LIMITS.min_samples
        and by_zone[name].windows[0].canary.latency_samples >= LIMITS.min_samples
        and by_zone[name].windows[0].canary.p95_latency_ms is not None
        for name in names
    )
    if verdict.decision in (Decision.ADVANCE, Decision.PROMOTE):
        assert enough
        assert window_open
    if verdict.decision is Decision.ROLLBACK:
        # Rollback rests on evidence: some zone has `failure_limit` failed windows, each with enough samples.
        assert any(
            len(z.windows) >= failure_limit
            and all(
                max(w.canary.requests, w.canary.latency_samples) >= LIMITS.min_samples
                for w in z.windows[:failure_limit]
            )
            for z in zones
            if z.error is None
        )


# ---------------------------------------------------------------- each guardrail on its own samples


@pytest.mark.parametrize(
    "sample",
    [
        track(p95=None, requests=1000, errors=1000, latency=0),  # every request fails: no latency at all
        track(p95=None, requests=1000, errors=990, latency=10),  # a few answered, far below minSamples
        track(p95=12.0, requests=1000, errors=600, latency=50),  # a p95 from too few samples is not evidence
    ],
)
def test_errors_on_enough_requests_roll_back_without_latency_samples(sample: TrackSample) -> None:
    verdict = decide(policy(), LIMITS, state(), measured(zone("ams-01", sample)))
    assert verdict.decision is Decision.ROLLBACK, verdict.summary()
    assert verdict.evidence[0].status is WindowStatus.FAIL
    assert any(f.startswith("error rate") for f in verdict.evidence[0].failures)


def test_a_slow_p95_on_enough_latency_samples_fails_even_when_few_requests_were_counted() -> None:
    # Counters and the histogram are separate series; each guardrail is read with its own count.
    sample = track(p95=80.0, requests=50, errors=0, latency=500)
    verdict = decide(policy(), LIMITS, state(), measured(zone("ams-01", sample)))
    assert verdict.decision is Decision.ROLLBACK
    assert "p95 80.0 ms > 30 ms" in verdict.evidence[0].failures


def test_a_healthy_error_rate_without_enough_latency_samples_holds_and_names_the_count() -> None:
    sample = track(p95=None, requests=1000, errors=0, latency=20)
    verdict = decide(policy(), LIMITS, state(), measured(zone("ams-01", sample)))
    assert (verdict.decision, verdict.hold_reason) == (Decision.HOLD, HoldReason.TOO_FEW_SAMPLES)
    assert "20 < 200 latency samples" in verdict.reason


def test_the_stable_ratio_needs_enough_stable_latency_samples() -> None:
    thin_stable = window(track(p95=25.0), stable=track(p95=10.0, requests=1000, latency=20))
    verdict = decide(policy(), LIMITS, state(), measured(ZoneMeasurement("ams-01", windows=(thin_stable,))))
    assert verdict.decision is Decision.ADVANCE
    assert verdict.evidence[0].ratio_to_stable is None


# ---------------------------------------------------------------- bake time at every weight


def at_step(*samples: TrackSample, since: datetime) -> ZoneMeasurement:
    """Windows as the measurement takes them: newest first, cut at the step's start."""
    windows = []
    for k, sample in enumerate(samples):
        end = NOW - k * WINDOW
        start = max(end - WINDOW, since)
        if end > start:
            windows.append(WindowSample(start=start, end=end, canary=sample, stable=track(p95=10.0)))
    return ZoneMeasurement("ams-01", windows=tuple(windows))


def test_a_step_younger_than_one_window_bakes_even_when_healthy() -> None:
    since = NOW - timedelta(seconds=4)
    verdict = decide(policy(), LIMITS, state(step_started_at=since), measured(at_step(HEALTHY, since=since)))
    assert (verdict.decision, verdict.hold_reason) == (Decision.HOLD, HoldReason.BAKING)
    assert "4 s of the 10 s analysis window" in verdict.reason
    assert "weight 10" in verdict.reason


def test_a_failing_canary_rolls_back_while_still_baking() -> None:
    since = NOW - timedelta(seconds=4)
    failing = track(requests=400, errors=100)
    verdict = decide(policy(), LIMITS, state(step_started_at=since), measured(at_step(failing, since=since)))
    assert verdict.decision is Decision.ROLLBACK


def test_windows_from_before_the_step_are_not_evidence_for_it() -> None:
    # A full, healthy window that began before the weight changed: traffic mostly at the previous weight.
    before = NOW - timedelta(seconds=15)
    early = ZoneMeasurement(
        "ams-01", windows=(WindowSample(start=before, end=NOW, canary=HEALTHY, stable=track(p95=10.0)),)
    )
    verdict = decide(policy(), LIMITS, state(step_started_at=NOW - WINDOW), measured(early))
    assert verdict.decision is Decision.HOLD
    assert verdict.hold_reason is HoldReason.NO_DATA


def test_a_short_window_never_carries_a_step_forward() -> None:
    since = NOW - 2 * WINDOW
    short = WindowSample(start=NOW - timedelta(seconds=3), end=NOW, canary=HEALTHY, stable=track(p95=10.0))
    verdict = decide(policy(), LIMITS, state(step_started_at=since), measured(ZoneMeasurement("ams-01", (short,))))
    assert (verdict.decision, verdict.hold_reason) == (Decision.HOLD, HoldReason.BAKING)


def test_the_shadow_phase_bakes_from_its_step_start_too() -> None:
    shadow = state(phase="shadow", weight=0, started_at=NOW - timedelta(minutes=11), step_started_at=NOW)
    verdict = decide(policy(), LIMITS, shadow, measured(zone("ams-01", HEALTHY)))
    assert verdict.hold_reason is HoldReason.BAKING


# ---------------------------------------------------------------- too few samples: extend, then inconclusive


@pytest.mark.parametrize(
    ("windows_at_step", "limit", "reason"),
    [
        (1, 3, HoldReason.TOO_FEW_SAMPLES),
        (3, 3, HoldReason.TOO_FEW_SAMPLES),
        (4, 3, HoldReason.INCONCLUSIVE),
        (40, 3, HoldReason.INCONCLUSIVE),
        (1, 0, HoldReason.INCONCLUSIVE),
    ],
)
def test_too_few_samples_extend_the_analysis_a_bounded_number_of_times(
    windows_at_step: int, limit: int, reason: HoldReason
) -> None:
    spec = CanaryPolicySpec.model_validate({"steps": [10, 100], "analysisInterval": "10s", "inconclusiveLimit": limit})
    canary = state(step_started_at=NOW - windows_at_step * WINDOW)
    verdict = decide(spec, LIMITS, canary, measured(zone("ams-01", track(requests=50))))
    assert (verdict.decision, verdict.hold_reason) == (Decision.HOLD, reason)
    if reason is HoldReason.INCONCLUSIVE:
        assert "inconclusive" in verdict.reason
        assert "50 < 200 requests" in verdict.reason


def test_the_default_policy_extends_three_times() -> None:
    assert policy().inconclusive_limit == 3


# ---------------------------------------------------------------- a verdict names what it was made for


def test_the_verdict_carries_the_canary_version_and_step_it_was_made_for() -> None:
    verdict = decide(policy(), LIMITS, state(weight=25), measured(zone("ams-01", HEALTHY)))
    assert (verdict.analysed.version, verdict.analysed.phase, verdict.analysed.weight) == ("1.1.0", "live", 25)
    assert verdict.decided_at == NOW


offsets = st.integers(min_value=0, max_value=60)


@st.composite
def windows_around(draw: st.DrawFn) -> tuple[WindowSample, ...]:
    """Windows of any length and position in the last minute, newest first."""
    spans = []
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        end_ago = draw(offsets)
        length = draw(st.integers(min_value=1, max_value=30))
        end = NOW - timedelta(seconds=end_ago)
        spans.append((end - timedelta(seconds=length), end, draw(tracks), draw(tracks)))
    spans.sort(key=lambda s: s[1], reverse=True)
    return tuple(WindowSample(start=a, end=b, canary=c, stable=d) for a, b, c, d in spans)


@settings(max_examples=400, deadline=None)
@given(
    windows=windows_around(),
    step_ago=offsets,
    weight=st.sampled_from([10, 25, 50, 100]),
    failure_limit=st.integers(min_value=1, max_value=3),
)
def test_samples_from_before_the_current_step_never_change_the_decision(
    windows: tuple[WindowSample, ...], step_ago: int, weight: int, failure_limit: int
) -> None:
    since = NOW - timedelta(seconds=step_ago)
    canary_state = state(weight=weight, step_started_at=since)
    spec = policy(failure_limit)
    verdict = decide(spec, LIMITS, canary_state, measured(ZoneMeasurement("ams-01", windows=windows)))
    at_step = tuple(w for w in windows if w.start >= since)
    only_step = decide(spec, LIMITS, canary_state, measured(ZoneMeasurement("ams-01", windows=at_step)))
    assert (verdict.decision, verdict.hold_reason, verdict.next_weight) == (
        only_step.decision,
        only_step.hold_reason,
        only_step.next_weight,
    )
    if verdict.decision in (Decision.ADVANCE, Decision.PROMOTE):
        # A step moves only after a full window at its weight, on a full window with enough samples in it.
        assert NOW - since >= WINDOW
        newest = at_step[0]
        assert newest.end - newest.start >= WINDOW
        assert newest.canary.requests >= LIMITS.min_samples
        assert newest.canary.latency_samples >= LIMITS.min_samples
