"""PromQL text (metric names, label matchers, escaping, ranges), maintenance windows (inside, outside, across
midnight, time zones, none declared) and wave grouping / threshold resolution on the template fleet."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reconciler.app.desired import load_desired
from reconciler.core.canary import canary_groups, inside_window, thresholds_for
from reconciler.core.canary.promql import Selector, error_rate_percent, p95_latency_ms, range_of, request_count
from reconciler.core.spec.base import MaintenanceWindow

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[3]
SEL = Selector(zone="ams-01", model="fraud-scoring", version="1.1.0", track="canary")


def test_queries_name_the_runtime_metrics_and_every_label() -> None:
    q = p95_latency_ms(SEL, timedelta(minutes=1))
    assert q == (
        "1000 * histogram_quantile(0.95, sum by (le) (rate(edgeops_inference_e2e_seconds_bucket"
        '{zone="ams-01",model="fraud-scoring",version="1.1.0",track="canary"}[60s])))'
    )
    assert request_count(SEL, timedelta(seconds=10)).startswith("sum(increase(edgeops_requests_total{")
    assert "edgeops_errors_total" in error_rate_percent(SEL, timedelta(seconds=10))


def test_label_values_are_escaped_and_ranges_are_integral() -> None:
    hostile = Selector(zone='a"}or vector(1)', model="m", version="v", track="t")
    assert 'zone="a\\"}or vector(1)"' in hostile.matchers()
    assert range_of(timedelta(milliseconds=1500)) == "1500ms"
    with pytest.raises(ValueError, match="positive"):
        range_of(timedelta(0))


WEEKNIGHTS = MaintenanceWindow.model_validate(
    {"name": "nights", "days": ["mon", "tue"], "start": "23:00", "duration": "3h", "timezone": "Europe/Amsterdam"}
)


@pytest.mark.parametrize(
    ("moment", "inside"),
    [
        (datetime(2026, 11, 23, 22, 30, tzinfo=UTC), True),  # Mon 23:30 in Amsterdam
        (datetime(2026, 11, 24, 0, 30, tzinfo=UTC), True),  # Tue 01:30 local: Monday's window still open
        (datetime(2026, 11, 24, 1, 30, tzinfo=UTC), False),  # Tue 02:30 local: closed
        (datetime(2026, 11, 26, 22, 30, tzinfo=UTC), False),  # Thu
    ],
)
def test_maintenance_windows(moment: datetime, inside: bool) -> None:
    assert inside_window([WEEKNIGHTS], moment) is inside
    assert inside_window([], moment) is True


def test_the_template_fleet_has_one_live_canary_judged_with_the_policy_thresholds() -> None:
    spec = load_desired(REPO).spec
    assert spec is not None
    groups = canary_groups(spec, "eu-west")
    assert [(g.model, g.zones, g.canary.weight) for g in groups] == [("fraud-scoring", ("ams-01",), 10)]
    limits = thresholds_for(spec, groups[0].policy, "fraud-scoring")
    # The policy allows 30 ms, but fraud-scoring's own SLO tightens it to 20 ms.
    assert (limits.p95_latency_ms, limits.min_samples) == (20, 200)
    assert canary_groups(spec, "us-east") == ()


def test_zones_of_one_wave_are_judged_together_and_others_alone() -> None:
    from reconciler.core.spec.zone import Canary

    spec = load_desired(REPO).spec
    assert spec is not None
    canary = Canary.model_validate(
        {"version": "1.1.0", "weight": 5, "phase": "live", "policy": "cautious", "startedAt": "2026-11-27T09:00:00Z"}
    )
    zones = []
    for original in spec.zones:
        zone = original
        if zone.name in ("chi-03", "nyc-01"):
            models = tuple(
                a.model_copy(update={"canary": canary}) if a.model == "fraud-scoring" else a for a in zone.spec.models
            )
            zone = zone.model_copy(update={"spec": zone.spec.model_copy(update={"models": models})})
        zones.append(zone)
    fleet = type(spec)(spec.fleet, spec.policies, tuple(zones), spec.models)
    groups = canary_groups(fleet)
    # cautious: ams-01 is the pilot wave; chi-03 and nyc-01 fall into '*' (everyone-else) and move together.
    assert [(g.zones, g.wave, g.key) for g in groups] == [
        (("ams-01",), None, "ams-01"),
        (("chi-03", "nyc-01"), "everyone-else", "everyone-else"),
    ]
    limits = thresholds_for(fleet, groups[1].policy, "fraud-scoring")
    assert (limits.p95_latency_ms, limits.min_samples, limits.max_ratio_to_stable) == (20, 500, 1.2)
