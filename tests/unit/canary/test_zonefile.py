"""Zone-file canary edits (ruamel round-trip): step, promote and rollback on the template's ams-01 zone and on a
zone with two models. The diff must show only the changed lines (a step: the weight and its `stepStartedAt`);
comments and formatting elsewhere survive; edits that make no sense (no such model, no canary, invalid YAML)
name the file and the reason; an edit for a canary version or step the file no longer holds is refused."""

from __future__ import annotations

import difflib
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from reconciler.core.canary import CanaryStep, StaleCanary, ZoneFileError, parse_zone, promote, rollback, set_step

pytestmark = pytest.mark.unit

AMS = Path(__file__).resolve().parents[3] / "zones" / "eu-west" / "ams-01.yaml"
PATH = "zones/eu-west/ams-01.yaml"
AT_10 = CanaryStep("1.1.0", "live", 10)  # what the template's ams-01 runs
STEP_AT = datetime(2026, 11, 27, 10, 30, 5, 123456, tzinfo=UTC)


def changed(before: str, after: str) -> list[str]:
    return [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def test_a_step_changes_only_the_weight_line() -> None:
    before = AMS.read_text()
    after = set_step(PATH, before, "fraud-scoring", expect=AT_10, phase="live", weight=25, started=STEP_AT)
    assert changed(before, after) == [
        "-        weight: 10",
        "+        weight: 25",
        '+        stepStartedAt: "2026-11-27T10:30:05Z"',
    ]
    canary = parse_zone(PATH, after).spec.models[0].canary
    assert canary is not None
    assert canary.weight == 25
    assert canary.step_started == STEP_AT.replace(microsecond=0)


def test_the_next_step_replaces_the_step_start_in_place() -> None:
    once = set_step(PATH, AMS.read_text(), "fraud-scoring", expect=AT_10, phase="live", weight=25, started=STEP_AT)
    later = datetime(2026, 11, 27, 12, 0, tzinfo=timezone(timedelta(hours=2)))  # written in UTC
    twice = set_step(
        PATH, once, "fraud-scoring", expect=CanaryStep("1.1.0", "live", 25), phase="live", weight=50, started=later
    )
    assert sorted(changed(once, twice)) == sorted(
        [
            "-        weight: 25",
            "+        weight: 50",
            '-        stepStartedAt: "2026-11-27T10:30:05Z"',
            '+        stepStartedAt: "2026-11-27T10:00:00Z"',
        ]
    )


@pytest.mark.parametrize(
    ("expect", "now_holds"),
    [
        (CanaryStep("1.1.0", "live", 25), "1.1.0 live at 10%"),  # a person moved the step meanwhile
        (CanaryStep("1.0.9", "live", 10), "1.1.0 live at 10%"),  # another version replaced it
        (CanaryStep("1.1.0", "shadow", 0), "1.1.0 live at 10%"),
    ],
)
def test_an_edit_for_another_canary_step_or_version_is_refused(expect: CanaryStep, now_holds: str) -> None:
    text = AMS.read_text()
    edits = (
        lambda: set_step(PATH, text, "fraud-scoring", expect=expect, phase="live", weight=50, started=STEP_AT),
        lambda: promote(PATH, text, "fraud-scoring", expect=expect),
        lambda: rollback(PATH, text, "fraud-scoring", expect=expect),
    )
    for edit in edits:
        with pytest.raises(StaleCanary, match="as analysed; nothing written") as raised:
            edit()
        assert PATH in str(raised.value)
        assert now_holds in str(raised.value)
        assert expect.describe() in str(raised.value)


def test_an_edit_for_a_canary_that_ended_is_refused() -> None:
    ended = rollback(PATH, AMS.read_text(), "fraud-scoring", expect=AT_10)
    with pytest.raises(StaleCanary, match="has no canary any more"):
        promote(PATH, ended, "fraud-scoring", expect=AT_10)


def test_a_step_start_without_a_time_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        set_step(
            PATH, AMS.read_text(), "fraud-scoring", expect=AT_10, phase="live", weight=25, started=datetime(2026, 1, 1)
        )


def test_promotion_rewrites_the_version_and_drops_the_canary_block() -> None:
    before = AMS.read_text()
    after = promote(PATH, before, "fraud-scoring", expect=AT_10)
    lines = changed(before, after)
    assert "-      version: 1.0.0" in lines
    assert "+      version: 1.1.0" in lines
    assert all(line.startswith("-") for line in lines if "canary" in line or "weight" in line)
    assert len([line for line in lines if line.startswith("+")]) == 1
    zone = parse_zone(PATH, after)
    assert (zone.spec.models[0].version, zone.spec.models[0].canary) == ("1.1.0", None)
    assert "# kubeconfig context; credentials stay in the kubeconfig" in after


def test_rollback_only_removes_lines() -> None:
    before = AMS.read_text()
    after = rollback(PATH, before, "fraud-scoring", expect=AT_10)
    lines = changed(before, after)
    assert lines
    assert all(line.startswith("-") for line in lines)
    assert parse_zone(PATH, after).spec.models[0].canary is None
    assert after.startswith("# yaml-language-server")


def test_shadow_to_live_changes_phase_and_weight() -> None:
    before = AMS.read_text().replace("weight: 10", "weight: 0").replace("phase: live", "phase: shadow")
    shadow = CanaryStep("1.1.0", "shadow", 0)
    after = set_step(PATH, before, "fraud-scoring", expect=shadow, phase="live", weight=10, started=STEP_AT)
    assert sorted(changed(before, after)) == sorted(
        [
            "-        weight: 0",
            "-        phase: shadow",
            "+        weight: 10",
            "+        phase: live",
            '+        stepStartedAt: "2026-11-27T10:30:05Z"',
        ]
    )


@pytest.mark.parametrize(
    ("text", "model", "message"),
    [
        (AMS.read_text(), "no-such-model", "does not serve model 'no-such-model'"),
        (AMS.read_text().split("      canary:")[0], "fraud-scoring", "has no canary"),
        ("spec: [unclosed", "fraud-scoring", "not valid YAML"),
    ],
)
def test_impossible_edits_name_the_file_and_why(text: str, model: str, message: str) -> None:
    with pytest.raises(ZoneFileError, match=message) as raised:
        rollback(PATH, text, model, expect=AT_10)
    assert PATH in str(raised.value)


def test_an_edit_that_breaks_the_schema_is_refused() -> None:
    with pytest.raises(ZoneFileError, match="not a valid Zone"):
        set_step(PATH, AMS.read_text(), "fraud-scoring", expect=AT_10, phase="live", weight=0, started=STEP_AT)
