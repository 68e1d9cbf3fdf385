"""Canary pull-request text always fits the forge. Matrix (generated): 1..2000 zones with hostile, long or nearly
equal names, reasons, failed checks, measurement errors and PromQL (HTML, comment enders, @mentions, backtick runs,
table pipes, line breaks), every window status, proposal and hold, with and without a comment-command author →
the title is under 256 characters, the body and every evidence comment under 65,536; the comments hold every
zone's evidence row exactly once, each comment's code blocks are closed, and outside code blocks no user string
pings anybody or renders as HTML. Named: a wave too long to list in a title is counted; every string at its
bound, made of the character that escapes longest, keeps the body under the 45,000 characters the module states."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.core.bot import COMMENT_LIMIT, TITLE_LIMIT, with_parts
from reconciler.core.canary import (
    CanaryGroup,
    Decision,
    HoldReason,
    SeriesPoint,
    Thresholds,
    TrackSample,
    Verdict,
    WindowStatus,
    ZoneEvidence,
    body,
    evidence_row,
    evidence_text,
    title,
)
from reconciler.core.spec import Canary
from reconciler.core.spec.policy import CanaryPolicy

pytestmark = pytest.mark.unit

POLICY = CanaryPolicy.model_validate(
    {
        "apiVersion": "edgeops.io/v1alpha1",
        "kind": "CanaryPolicy",
        "metadata": {"name": "standard"},
        "spec": {"steps": [10, 25, 50, 100], "analysisInterval": "10s"},
    }
)
CANARY = Canary.model_validate({"version": "1.1.0", "weight": 10, "phase": "live", "startedAt": "2026-11-27T09:00:00Z"})
START = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
HOSTILE = ["@mallory", "<b>", "<!--", "-->", "```", "|", "\n", "`", "<script>", "@team/x", "&lt;", "\u2028", "~~~"]

hostile_text = st.lists(st.one_of(st.sampled_from(HOSTILE), st.text(max_size=40)), max_size=12).map(
    "".join
) | st.sampled_from(HOSTILE).map(lambda s: s * 3_000)


def _fenced_away(text: str) -> tuple[str, bool]:
    """`text` without its code blocks (CommonMark fences), and whether every block it opens is closed."""
    kept: list[str] = []
    fence: str | None = None
    for line in text.split("\n"):
        stripped = line.strip()
        if fence is None:
            opener = re.match(r"^(`{3,}|~{3,})", stripped)
            if opener:
                fence = opener.group(1)
            else:
                kept.append(line)
        elif set(stripped) == {fence[0]} and len(stripped) >= len(fence):
            fence = None
    return "\n".join(kept), fence is None


def _assert_safe(text: str) -> None:
    outside, closed = _fenced_away(text)
    assert closed, "a code block is left open"
    assert not re.search(r"@(?=[A-Za-z0-9])", outside), "a user string pings somebody"
    tags = set(re.findall(r"<[^>\n]*>?", outside))
    allowed = {"<code>", "</code>"}
    assert all(t in allowed or re.fullmatch(r"<!-- edgeops:[a-z0-9:/._-]+ -->", t) for t in tags), tags


@st.composite
def verdicts(draw: st.DrawFn) -> tuple[CanaryGroup, Verdict]:
    count = draw(st.integers(1, 2_000))
    prefix, suffix = draw(hostile_text), draw(st.sampled_from(["", "-x", "@mallory", "<b>" * 50]))
    zones = tuple(f"{prefix}{i}{suffix}" for i in range(count))
    statuses = draw(st.lists(st.sampled_from(list(WindowStatus)), min_size=1, max_size=5))
    failure, error, query = draw(hostile_text), draw(st.none() | hostile_text), draw(hostile_text)
    points = draw(st.integers(0, 300))
    evidence = tuple(
        ZoneEvidence(
            zone,
            statuses[i % len(statuses)],
            TrackSample(80.0 + i, 1000, 2, 998),
            TrackSample(10.0, 900, 0, 900) if i % 3 else None,
            8.0 if i % 3 else None,
            failures=(failure, f"p95 {80 + i} ms > 30 ms") if i % 2 else (),
            error=error,
            queries=(("canary p95", query), ("stable\nrequests", f"sum(rate(x{{zone={zone!r}}}[5m]))")),
            series=tuple(SeriesPoint(START + timedelta(seconds=s), 70.0 + s) for s in range(points if i < 50 else 0)),
        )
        for i, zone in enumerate(zones)
    )
    model = draw(st.sampled_from(["fraud-scoring", "@mallory<b>" * 100]))
    group = CanaryGroup(model, "1.1.0", "1.0.0", POLICY, zones, draw(st.sampled_from([None, "all"])), CANARY)
    decision = draw(st.sampled_from(list(Decision)))
    verdict = Verdict(
        decision,
        draw(hostile_text),
        Thresholds(30, 1, 1.5, 200),
        timedelta(seconds=60),
        evidence,
        group.step,
        hold_reason=HoldReason.INCONCLUSIVE if decision is Decision.HOLD else None,
        next_phase="live",
        next_weight=25,
        decided_at=START,
    )
    return group, verdict


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(verdicts(), st.booleans(), st.none() | hostile_text)
def test_the_body_and_every_evidence_comment_fit_and_hold_every_row_once(
    case: tuple[CanaryGroup, Verdict], hold: bool, manual_by: str | None
) -> None:
    group, verdict = case
    assert len(title(group, verdict, manual=manual_by is not None)) <= TITLE_LIMIT
    summary = body(group, verdict, manual_by=manual_by, hold=hold)
    assert len(summary) <= COMMENT_LIMIT
    _assert_safe(summary)

    name, text = evidence_text(group, verdict, hold=hold)
    comments = with_parts(name, text)
    assert all(len(c) <= COMMENT_LIMIT for c in comments)
    for comment in comments:
        _assert_safe(comment)
    expected = Counter(evidence_row(e) for e in verdict.evidence)
    lines = Counter(line for c in comments for line in c.split("\n") if line in expected)
    assert lines == expected
    assert f"{len(comments)} comments" in summary if len(comments) > 1 else "bot's comment headed" in summary


def test_a_wave_too_long_to_list_is_counted_in_the_title() -> None:
    zones = tuple(f"zone-{i:03}" for i in range(300))
    group = CanaryGroup("fraud-scoring", "1.1.0", "1.0.0", POLICY, zones, "all", CANARY)
    verdict = Verdict(Decision.ROLLBACK, "p95 over", Thresholds(30, 1, 1.5, 200), timedelta(60), (), group.step)
    assert title(group, verdict) == "canary: roll back fraud-scoring 1.1.0 in 300 zones (wave all)"
    few = CanaryGroup("fraud-scoring", "1.1.0", "1.0.0", POLICY, zones[:2], "all", CANARY)
    assert title(few, verdict) == "canary: roll back fraud-scoring 1.1.0 in zone-000, zone-001 (wave all)"


def test_the_body_at_every_bound_stays_under_its_stated_size() -> None:
    # `"` is the character that escapes longest (`&quot;`): every string at its bound, made of it.
    worst = '"' * 10_000
    zones = tuple(f"{worst}{i}" for i in range(500))
    evidence = tuple(
        ZoneEvidence(z, WindowStatus.FAIL, None, None, None, failures=(worst,), error=worst) for z in zones
    )
    group = CanaryGroup(worst, worst, worst, POLICY, zones, worst, CANARY)
    verdict = Verdict(Decision.ROLLBACK, worst, Thresholds(30, 1, 1.5, 200), timedelta(60), evidence, group.step)
    for hold in (False, True):
        assert len(body(group, verdict, manual_by=worst, hold=hold)) < 45_000
