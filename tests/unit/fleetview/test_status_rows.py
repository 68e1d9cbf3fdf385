"""The fleet view's rows, from readings of the template fleet: status and reason per zone (records, unhealthy
Deployments, unreachable), revision against the head, stale flags, models with canary and digests, pull state,
and the text and JSON forms."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.app.desired import load_desired
from reconciler.core.fleetview import PullReading, Served, ZoneReading, ZoneRow, format_json, format_text, zone_rows
from reconciler.core.spec import FleetSpec
from tests.fixtures.template_repo import REPO_ROOT

pytestmark = pytest.mark.unit

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
HEAD = "a" * 40
OLD = "b" * 40


@pytest.fixture(scope="module")
def spec() -> FleetSpec:
    loaded = load_desired(REPO_ROOT).spec
    assert loaded is not None
    return loaded


def _rows(spec: FleetSpec, readings: dict[str, ZoneReading]) -> dict[str, ZoneRow]:
    rows = zone_rows(spec, "eu-west", head=HEAD, readings=readings, now=NOW, stale_after=timedelta(minutes=10))
    return {row.zone: row for row in rows}


def test_every_zone_of_the_region_has_a_row_and_unread_zones_are_unreachable_and_stale(spec: FleetSpec) -> None:
    rows = zone_rows(spec, "eu-west", head=HEAD, readings={}, now=NOW, stale_after=timedelta(minutes=10))
    assert [r.zone for r in rows] == ["ams-01", "fra-02", "lis-03"]
    assert all(r.status == "Unreachable" and r.stale and not r.reachable for r in rows)


def test_status_comes_from_the_record_unless_unreachable_or_unhealthy_now(spec: FleetSpec) -> None:
    recorded = NOW - timedelta(minutes=1)
    rows = _rows(
        spec,
        {
            "ams-01": ZoneReading("ams-01", revision=HEAD, status="Synced", recorded_at=recorded),
            "fra-02": ZoneReading(
                "fra-02", revision=HEAD, status="Synced", recorded_at=recorded, unhealthy=("Deployment/x: 0/1",)
            ),
            "lis-03": ZoneReading("lis-03", error="connection refused", recorded_at=recorded),
        },
    )
    ams, fra, lis = rows["ams-01"], rows["fra-02"], rows["lis-03"]
    assert (ams.status, ams.reason, ams.in_sync, ams.stale, ams.last_contact) == ("Synced", "", True, False, NOW)
    assert (fra.status, fra.reason) == ("Degraded", "Deployment/x: 0/1")
    assert (lis.status, lis.reason, lis.stale) == ("Unreachable", "connection refused", True)


def test_a_zone_behind_the_head_is_stale_only_after_the_threshold(spec: FleetSpec) -> None:
    rows = _rows(
        spec,
        {
            "ams-01": ZoneReading("ams-01", revision=OLD, status="Synced", recorded_at=NOW - timedelta(minutes=2)),
            "fra-02": ZoneReading("fra-02", revision=OLD, status="Synced", recorded_at=NOW - timedelta(minutes=20)),
        },
    )
    assert not rows["ams-01"].stale
    assert not rows["ams-01"].in_sync
    assert rows["fra-02"].stale


def test_models_carry_versions_digests_canary_and_pull_state(spec: FleetSpec) -> None:
    zone = next(z for z in spec.zones_in("eu-west") for a in z.spec.models if a.canary is not None)
    assignment = next(a for a in zone.spec.models if a.canary is not None)
    assert assignment.canary is not None
    reading = ZoneReading(
        zone.name,
        revision=HEAD,
        status="Synced",
        recorded_at=NOW,
        served={(assignment.model, "stable"): Served(assignment.version, "sha256:" + "c" * 64)},
        pulls={assignment.model: PullReading(failures=2.0)},
    )
    row = _rows(spec, {zone.name: reading})[zone.name]
    model = next(m for m in row.models if m.model == assignment.model)
    assert model.canary_version == assignment.canary.version
    assert model.canary_weight == assignment.canary.weight
    assert model.at_weight_since == assignment.canary.step_started
    assert model.stable_digest.startswith("sha256:")
    assert (model.canary_digest or "").startswith("sha256:")
    assert model.served_digest == "sha256:" + "c" * 64
    assert model.pull == "failing"
    assert "model pull failing" in row.reason


def test_text_and_json_forms(spec: FleetSpec) -> None:
    rows = zone_rows(
        spec,
        "eu-west",
        head=HEAD,
        readings={"ams-01": ZoneReading("ams-01", revision=HEAD, status="Synced", recorded_at=NOW)},
        now=NOW,
        stale_after=timedelta(minutes=10),
    )
    text = format_text(rows, NOW)
    assert "ams-01" in text
    assert "Synced" in text
    assert "at head" in text
    assert "STALE" in text
    parsed = json.loads(format_json(rows))
    assert parsed[0]["zone"] == "ams-01"
    assert parsed[0]["in_sync"] is True
    assert parsed[0]["since"] == NOW.isoformat()


@given(
    revision=st.one_of(st.none(), st.text(max_size=50)),
    status=st.one_of(st.none(), st.text(max_size=30)),
    error=st.one_of(st.none(), st.text(max_size=80)),
    age_s=st.integers(min_value=0, max_value=10**7),
)
def test_any_reading_gives_a_row_that_serialises(
    spec: FleetSpec, revision: str | None, status: str | None, error: str | None, age_s: int
) -> None:
    reading = ZoneReading(
        "ams-01", error=error, revision=revision, status=status, recorded_at=NOW - timedelta(seconds=age_s)
    )
    rows = zone_rows(spec, "eu-west", head=HEAD, readings={"ams-01": reading}, now=NOW, stale_after=timedelta(0))
    row = rows[0]
    assert row.reachable == (error is None)
    assert row.stale == (error is not None or (revision != HEAD and age_s > 0))
    json.loads(format_json(rows))
    assert "ams-01" in format_text(rows, NOW)
