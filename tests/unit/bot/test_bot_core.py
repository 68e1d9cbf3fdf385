"""PR bot pure parts. Matrix: escaping of hostile text (HTML, markdown, @mentions, comment enders, mermaid);
comment splitting (fits, many parts under the limit, fences balanced, one huge line, parts ending on block
boundaries, a long table's header repeated in every part); fenced text that cannot close its block; command
parsing (valid verbs, bad arguments, no command); the canary-only guardrail (step, promotion, rollback allowed;
other fields, other files, added/deleted zones, a version bump without a canary refused); canary PR summary and
evidence text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reconciler.core.bot import (
    COMMENT_LIMIT,
    Command,
    CommandError,
    clip,
    fenced,
    inline,
    mermaid_label,
    parse_command,
    split_comment,
    with_parts,
)
from reconciler.core.canary import (
    CanaryGroup,
    CanaryStep,
    Decision,
    SeriesPoint,
    Thresholds,
    TrackSample,
    Verdict,
    WindowStatus,
    ZoneEvidence,
    body,
    canary_only_problems,
    evidence_text,
    promote,
    rollback,
    set_step,
    title,
)
from reconciler.core.spec.policy import CanaryPolicy
from reconciler.core.spec.zone import Canary

pytestmark = pytest.mark.unit

AMS_PATH = "zones/eu-west/ams-01.yaml"
AT_10 = CanaryStep("1.1.0", "live", 10)
STEP_AT = datetime(2026, 11, 27, 10, 30, tzinfo=UTC)
AMS = (Path(__file__).resolve().parents[3] / AMS_PATH).read_text()


@pytest.mark.parametrize(
    ("hostile", "absent"),
    [
        ("<img src=x onerror=alert(1)>", "<img"),
        ("--> <script>", "-->"),
        ("@everyone please look", "@everyone"),
        ("[click](https://evil.example)", "](https"),
    ],
)
def test_inline_neutralizes_user_text(hostile: str, absent: str) -> None:
    assert absent not in inline(hostile)


def test_table_pipes_and_line_breaks_cannot_break_a_table_row() -> None:
    assert inline("| a |\nb") == "\\| a \\| b"


def test_mermaid_labels_keep_only_harmless_characters() -> None:
    assert mermaid_label('ams"]\n%%{init: {"theme":"dark"}}%%') == "amsinit: theme:dark"


def test_split_keeps_parts_under_the_limit_and_fences_balanced() -> None:
    text = "intro\n```diff\n" + "".join(f"+ line {i} " + "x" * 80 + "\n" for i in range(2000)) + "```\nend\n"
    parts = split_comment(text, limit=10_000)
    assert len(parts) > 10
    assert all(len(p) <= 10_000 for p in parts)
    assert all(p.count("```") % 2 == 0 for p in parts)
    assert "".join(parts).count("+ line 1999 ") == 1
    bodies = with_parts("plan", text * 8)
    assert len(bodies) > 1
    assert all(len(b) < COMMENT_LIMIT for b in bodies)
    assert bodies[0].startswith("<!-- edgeops:plan:part-1 -->")
    assert split_comment("x" * 30_000, limit=10_000)[0] == "x" * 5_000 * 2
    assert with_parts("plan", "short") == ("<!-- edgeops:plan -->\nshort",)


def test_split_ends_parts_on_block_boundaries_and_repeats_a_table_header() -> None:
    charts = "".join(f"#### zone {i}\n```mermaid\n" + "x\n" * 40 + "```\n\n" for i in range(200))
    parts = split_comment(charts, limit=5_000)
    assert len(parts) > 1
    assert all(p.startswith("#### zone ") and p.endswith("```\n\n") for p in parts)  # whole blocks only
    assert all(p.count("```") % 2 == 0 for p in parts)

    header = "| zone | result |\n|---|---|\n"
    table = header + "".join(f"| z{i} | pass |\n" for i in range(2_000)) + "\nafter\n"
    parts = split_comment(table, limit=5_000)
    assert len(parts) > 1
    assert all(p.startswith(header) for p in parts[:-1])
    assert sum(p.count("| pass |") for p in parts) == 2_000


def test_fenced_text_cannot_close_its_code_block() -> None:
    block = fenced("a\n````\n@team <b>", "promql")
    assert block.startswith("`````promql\n")
    assert block.endswith("\n`````")
    assert clip("abcdef", 4) == "abc…"
    assert clip("abc", 4) == "abc"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/edgeops plan", Command("plan")),
        ("looks good\n/edgeops promote fraud-scoring ams-01\nthanks", Command("promote", "fraud-scoring", "ams-01")),
        ("/edgeops abort fraud-scoring ams-01", Command("abort", "fraud-scoring", "ams-01")),
        ("nothing to see", None),
        ("/edgeopsx plan", None),
    ],
)
def test_commands(text: str, expected: Command | None) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize("text", ["/edgeops", "/edgeops deploy", "/edgeops promote x", "/edgeops abort A_B z"])
def test_bad_commands_say_what_is_accepted(text: str) -> None:
    with pytest.raises(CommandError, match="/edgeops plan"):
        parse_command(text)


@pytest.mark.parametrize(
    "edit",
    [
        lambda t: set_step(AMS_PATH, t, "fraud-scoring", expect=AT_10, phase="live", weight=25, started=STEP_AT),
        lambda t: promote(AMS_PATH, t, "fraud-scoring", expect=AT_10),
        lambda t: rollback(AMS_PATH, t, "fraud-scoring", expect=AT_10),
    ],
)
def test_canary_edits_pass_the_guardrail(edit: object) -> None:
    assert canary_only_problems({AMS_PATH: (AMS, edit(AMS))}) == ()  # type: ignore[operator]


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({AMS_PATH: (AMS, AMS.replace("replicas: 2", "replicas: 3"))}, "fields other than canary"),
        (
            {
                AMS_PATH: (
                    AMS,
                    AMS.replace("version: 1.0.0", "version: 1.1.0").replace(
                        "        version: 1.1.0\n", "        version: 1.2.0\n"
                    ),
                )
            },
            "stable version changed",
        ),
        ({"fleet/fleet.yaml": ("a: 1\n", "a: 2\n")}, "not a zone file"),
        ({"zones/eu-west/new.yaml": (None, AMS)}, "added"),
        ({AMS_PATH: (AMS, None)}, "deleted"),
        ({AMS_PATH: (AMS, "kind: [")}, "not valid YAML"),
    ],
)
def test_other_changes_are_refused(changes: dict[str, tuple[str | None, str | None]], problem: str) -> None:
    problems = canary_only_problems(changes)
    assert any(problem in p for p in problems), problems


def test_canary_pr_title_and_body_carry_the_evidence() -> None:
    policy = CanaryPolicy.model_validate(
        {
            "apiVersion": "edgeops.io/v1alpha1",
            "kind": "CanaryPolicy",
            "metadata": {"name": "standard"},
            "spec": {"steps": [10, 25, 50, 100], "analysisInterval": "10s"},
        }
    )
    canary = Canary.model_validate(
        {"version": "1.1.0", "weight": 10, "phase": "live", "startedAt": "2026-11-27T09:00:00Z"}
    )
    group = CanaryGroup("fraud-scoring", "1.1.0", "1.0.0", policy, ("ams-01",), None, canary)
    start = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    evidence = ZoneEvidence(
        "ams-01",
        WindowStatus.FAIL,
        TrackSample(80.0, 1000, 2, 998),
        TrackSample(10.0, 900, 0, 900),
        8.0,
        failures=("p95 80.0 ms > 30 ms",),
        consecutive_failures=1,
        queries=(("canary p95", "histogram_quantile(...)"),),
        series=tuple(SeriesPoint(start + timedelta(seconds=i), 70.0 + i) for i in range(5)),
    )
    verdict = Verdict(
        Decision.ROLLBACK,
        "1 failed analysis in a row",
        Thresholds(30, 1, 1.5, 200),
        timedelta(seconds=10),
        (evidence,),
        group.step,
    )
    assert title(group, verdict) == "canary: roll back fraud-scoring 1.1.0 in ams-01"
    summary = body(group, verdict, manual_by="@mallory<b>")
    assert "Requested with a comment command by @\u200dmallory&lt;b&gt;" in summary
    assert "1 fail" in summary
    assert "- ams\\-01: p95 80\\.0 ms &gt; 30 ms" in summary  # the failing zone is named with its checks
    assert "headed *Canary evidence*" in summary
    assert "xychart-beta" not in summary  # the evidence is in the comments
    name, text = evidence_text(group, verdict)
    assert name == "canary:evidence"
    assert "| ams\\-01 | fail | 80\\.0 ms" not in text  # numbers are not escaped, names are
    assert "| ams\\-01 | fail | 80.0 ms | 10.0 ms | 8.00x | 0.20 % | 1000 |" in text
    assert "xychart-beta" in text
    assert "line [30, 30, 30, 30, 30]" in text
    assert "```promql\n# canary p95\nhistogram_quantile(...)\n```" in text
    for rendered in (summary, text):
        assert "@mallory" not in rendered
        assert "<b>" not in rendered
