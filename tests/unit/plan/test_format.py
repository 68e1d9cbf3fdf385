"""Plan formatting: text, JSON and the markdown PR comment.

Matrix: text lists non-unchanged changes with symbols and diffs; JSON round-trips counts and changes; markdown
has a section per zone, collapsible diffs, an error section for an unreachable zone, and escapes
repository-controlled text (HTML, markdown punctuation, backtick runs that would close a code fence).
"""

from __future__ import annotations

import json

import pytest

from reconciler.core.plan import (
    Action,
    Change,
    ChangeSet,
    ZonePlan,
    escape_markdown,
    format_json,
    format_markdown,
    format_text,
)

pytestmark = pytest.mark.unit

DIFF = "--- live/x\n+++ desired/x\n@@ -1 +1 @@\n-replicas: 1\n+replicas: 2\n"


def _plans() -> list[ZonePlan]:
    changes = ChangeSet.of(
        [
            Change(Action.CONFIGURE, "Deployment", "edgeops", "fraud-scoring", DIFF),
            Change(Action.UNCHANGED, "ConfigMap", "edgeops", "fraud-scoring-runtime"),
            Change(Action.SKIP_FOREIGN, "Service", "edgeops", "m-metrics", detail="not ours"),
        ]
    )
    return [
        ZonePlan("ams-01", "a" * 40, changes),
        ZonePlan("fra-02", "a" * 40, error="unreachable: connection refused"),
    ]


def test_text() -> None:
    text = format_text(_plans())
    assert "zone ams-01 @ aaaaaaaaaaaa: 0 to create, 1 to configure, 1 unchanged" in text
    assert "~ configure    Deployment/edgeops/fraud-scoring" in text
    assert "+replicas: 2" in text
    assert "fraud-scoring-runtime" not in text
    assert "! skip-foreign Service/edgeops/m-metrics  (not ours)" in text
    assert "zone fra-02 @ aaaaaaaaaaaa: ERROR unreachable" in text


def test_json() -> None:
    document = json.loads(format_json(_plans(), region="eu-west"))
    assert document["region"] == "eu-west"
    first, second = document["zones"]
    assert first["pending"] is True
    assert first["counts"]["configure"] == 1
    assert first["changes"][0]["diff"] == DIFF
    assert second["error"].startswith("unreachable")


def test_markdown_sections_and_collapsible_diffs() -> None:
    text = format_markdown(_plans(), region="eu-west", revision="a" * 40)
    assert text.startswith("### edgeops plan for region eu\\-west at `aaaaaaaaaaaa`")
    assert "#### :arrows_counterclockwise: ams\\-01" in text
    assert "<details><summary>configure <code>Deployment/edgeops/fraud-scoring</code></summary>" in text
    assert "```diff\n--- live/x" in text
    assert "#### :x: fra\\-02" in text


def test_markdown_escapes_repository_text() -> None:
    evil = "x<img src=x onerror=alert(1)>|*bold*"
    assert "<img" not in escape_markdown(evil)
    assert "\\|" in escape_markdown(evil)
    fence_breaker = "--- a\n+++ b\n+value: ```\n+</details><script>alert(1)</script>\n"
    plan = ZonePlan("z", "r", ChangeSet.of([Change(Action.CREATE, "ConfigMap", "ns", "c<b>", fence_breaker)]))
    text = format_markdown([plan])
    assert "````diff" in text  # a fence longer than the run inside
    assert "<code>ConfigMap/ns/c&lt;b&gt;</code>" in text
    assert "c<b>" not in text
    assert "<script>" not in text.split("````diff")[0]  # outside the fence, nothing of the diff appears
