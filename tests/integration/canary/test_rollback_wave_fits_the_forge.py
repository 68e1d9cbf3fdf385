"""A rollback of a wave too large for one pull-request body, against the local GitHub (OpenAPI-validated, GitHub's
limits enforced) and a bare git remote. Matrix: 320 zones in one wave, evidence far over 65,536 characters → the
rollback PR opens with a summary body and a title under GitHub's limits; a merge the forge refuses (a required
check missing) still leaves every zone's evidence row in the evidence comments, each under the limit; the rerun
once the check is green merges it, edits the same comments in place (no new ones) and empties the part its
shorter evidence no longer needs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reconciler.app.desired import load_desired
from reconciler.app.gitops import Bot, propose
from reconciler.core.bot import COMMENT_LIMIT, TITLE_LIMIT
from reconciler.core.canary import (
    EVIDENCE_MARKER,
    CanaryGroup,
    Decision,
    SeriesPoint,
    TrackSample,
    Verdict,
    WindowStatus,
    ZoneEvidence,
    canary_groups,
    evidence_row,
    evidence_text,
    parse_zone,
    thresholds_for,
)
from reconciler.core.spec import FleetSpec
from reconciler.shells.forge import Forge
from reconciler.shells.git import Workspace
from tests.fixtures.fleet_repo import ModelDef, ZoneDef, write_fleet
from tests.fixtures.github import ADMIN_TOKEN, BOT_TOKEN, NAME, OWNER, GitHubFactory, GitHubRemote

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ZONES = 320
START = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
UNUSED = "_(This part is no longer needed.)_"


def wave_fleet(root: Path) -> Path:
    zones = [
        ZoneDef(f"edge-{i:03}", f"edge-{i:03}", models=(ModelDef("fraud-scoring", "1.0.0", canary="1.1.0"),))
        for i in range(ZONES)
    ]
    write_fleet(root, "eu-west", zones)
    policy = root / "fleet" / "policies" / "standard.yaml"
    policy.write_text(policy.read_text() + '  waves:\n    - name: everyone\n      zones: ["*"]\n')
    return root


def wave_verdict(spec: FleetSpec, group: CanaryGroup, points: int) -> Verdict:
    """A rollback on evidence from every zone: `points` p95 samples each, and the PromQL that ran."""

    def queries(zone: str) -> tuple[tuple[str, str], ...]:
        selector = f'zone="{zone}",model="fraud-scoring",version="1.1.0",track="canary"'
        return (
            (
                "canary p95",
                f"histogram_quantile(0.95, sum by (le) (rate(edgeops_latency_seconds_bucket{{{selector}}}[60s])))",
            ),
            ("canary errors", f"sum(increase(edgeops_errors_total{{{selector}}}[60s]))"),
            ("canary requests", f"sum(increase(edgeops_requests_total{{{selector}}}[60s]))"),
        )

    evidence = tuple(
        ZoneEvidence(
            zone,
            WindowStatus.FAIL,
            TrackSample(80.0 + i % 7, 1200, 30, 1170),
            TrackSample(10.0, 1100, 0, 1100),
            8.0 + i % 7 / 10,
            failures=(f"p95 {80 + i % 7:.1f} ms > 30 ms", "error rate 2.50 % > 1 %"),
            consecutive_failures=1,
            queries=queries(zone),
            series=tuple(SeriesPoint(START + timedelta(seconds=10 * s), 70.0 + s) for s in range(points)),
        )
        for i, zone in enumerate(group.zones)
    )
    return Verdict(
        Decision.ROLLBACK,
        f"{ZONES} zones over the p95 and error-rate thresholds",
        thresholds_for(spec, group.policy, group.model),
        timedelta(seconds=60),
        evidence,
        group.step,
        decided_at=START,
    )


def evidence_comments(remote: GitHubRemote, number: int) -> dict[int, str]:
    return {
        c["id"]: c["body"]
        for c in remote.fake.comments.values()
        if c["issue"] == number and c["body"].startswith(f"<!-- edgeops:{EVIDENCE_MARKER}")
    }


def test_a_rollback_wave_too_large_for_one_body_opens_merges_and_keeps_its_evidence(
    github_factory: GitHubFactory, tmp_path: Path
) -> None:
    remote = github_factory(wave_fleet(tmp_path / "fleet"))
    remote.fake.required_contexts = ["ci/tests"]  # branch protection holds even a rollback until CI is green
    bot = Bot(
        Workspace.open_or_clone(str(remote.bare), tmp_path / "clone"),
        Forge(OWNER, NAME, url=remote.url, token=BOT_TOKEN),
    )
    bot.workspace.fetch()
    load = load_desired(Path(bot.workspace.repo.path), "origin/main")
    assert load.spec is not None, load.problems
    (group,) = canary_groups(load.spec, "eu-west")
    assert (len(group.zones), group.wave) == (ZONES, "everyone")
    verdict = wave_verdict(load.spec, group, points=30)
    assert len(evidence_text(group, verdict)[1]) > 5 * COMMENT_LIMIT  # far too much for one body

    first = propose(bot, load.spec, group, verdict)
    assert not first.merged
    assert "ci/tests" in first.note
    pr = remote.fake.pulls[first.pull.number]
    assert pr["title"] == f"canary: roll back fraud-scoring 1.1.0 in {ZONES} zones (wave everyone)"
    assert len(pr["title"]) <= TITLE_LIMIT
    assert len(pr["body"]) <= COMMENT_LIMIT
    assert f"{ZONES} fail" in pr["body"]
    assert "and 300 more" in pr["body"]  # twenty failing zones named, the rest counted
    comments = evidence_comments(remote, first.pull.number)
    assert len(comments) > 5
    assert all(len(body) <= COMMENT_LIMIT for body in comments.values())
    lines = [line for body in comments.values() for line in body.split("\n")]
    assert all(lines.count(evidence_row(e)) == 1 for e in verdict.evidence)
    assert f"{len(comments)} comments" in pr["body"]

    # CI goes green; the rerun (shorter evidence: fewer p95 points) merges and edits the same comments in place.
    Forge(OWNER, NAME, url=remote.url, token=ADMIN_TOKEN).set_status(
        first.pull.head_sha, context="ci/tests", state="success", description="passed"
    )
    shorter = wave_verdict(load.spec, group, points=3)
    second = propose(bot, load.spec, group, shorter)
    assert second.merged, second
    assert (second.pull.number, second.evidence_error) == (first.pull.number, None)
    assert len(remote.fake.pulls) == 1
    again = evidence_comments(remote, first.pull.number)
    assert set(again) == set(comments)  # no new comment, none lost
    used = [body for body in again.values() if not body.endswith(UNUSED)]
    assert 0 < len(used) < len(again)  # the parts the shorter evidence does not need are emptied
    lines = [line for body in used for line in body.split("\n")]
    assert all(lines.count(evidence_row(e)) == 1 for e in shorter.evidence)
    for zone in (group.zones[0], group.zones[-1]):
        path = f"zones/eu-west/{zone}.yaml"
        assert parse_zone(path, remote.main_text(path)).spec.models[0].canary is None
