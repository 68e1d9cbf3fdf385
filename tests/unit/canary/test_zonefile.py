"""Zone-file canary edits (ruamel round-trip): step, promote and rollback on the template's ams-01 zone and on a
zone with two models. The diff must show only the changed lines; comments and formatting elsewhere survive;
edits that make no sense (no such model, no canary, invalid YAML) name the file and the reason."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from reconciler.core.canary.zonefile import ZoneFileError, parse_zone, promote, rollback, set_step

pytestmark = pytest.mark.unit

AMS = Path(__file__).resolve().parents[3] / "zones" / "eu-west" / "ams-01.yaml"
PATH = "zones/eu-west/ams-01.yaml"


def changed(before: str, after: str) -> list[str]:
    return [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def test_a_step_changes_only_the_weight_line() -> None:
    before = AMS.read_text()
    after = set_step(PATH, before, "fraud-scoring", phase="live", weight=25)
    assert changed(before, after) == ["-        weight: 10", "+        weight: 25"]
    assert parse_zone(PATH, after).spec.models[0].canary.weight == 25  # type: ignore[union-attr]


def test_promotion_rewrites_the_version_and_drops_the_canary_block() -> None:
    before = AMS.read_text()
    after = promote(PATH, before, "fraud-scoring")
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
    after = rollback(PATH, before, "fraud-scoring")
    lines = changed(before, after)
    assert lines
    assert all(line.startswith("-") for line in lines)
    assert parse_zone(PATH, after).spec.models[0].canary is None
    assert after.startswith("# yaml-language-server")


def test_shadow_to_live_changes_phase_and_weight() -> None:
    before = AMS.read_text().replace("weight: 10", "weight: 0").replace("phase: live", "phase: shadow")
    after = set_step(PATH, before, "fraud-scoring", phase="live", weight=10)
    assert sorted(changed(before, after)) == sorted(
        ["-        weight: 0", "-        phase: shadow", "+        weight: 10", "+        phase: live"]
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
        rollback(PATH, text, model)
    assert PATH in str(raised.value)


def test_an_edit_that_breaks_the_schema_is_refused() -> None:
    with pytest.raises(ZoneFileError, match="not a valid Zone"):
        set_step(PATH, AMS.read_text(), "fraud-scoring", phase="live", weight=0)
