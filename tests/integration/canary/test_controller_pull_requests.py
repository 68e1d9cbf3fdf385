"""The canary controller end to end without Kubernetes: real Prometheus + exporter, the local GitHub (OpenAPI-
validated) and a bare git remote. Matrix: a healthy canary walks 10 → 25 → 50 → 100 by one PR per step (each
merged only once the required check is green; each writes `stepStartedAt` and the next step waits one analysis
window at the new weight; a later analysis re-proposing the waiting step reuses its commit; a hold while a step
waits is said in one latest-analysis comment and one evidence comment, edited in place), then a promotion PR makes
1.1.0 stable and removes the canary (an inconclusive hold with no PR open is said on the newest one); a slow
canary gets a rollback PR merged at once (the body a summary naming the failing zone, its evidence in a comment);
a restart between push and PR creation opens exactly one PR; a verdict for a step a person changed meanwhile is
refused with nothing pushed, and the next analysis starts over at the person's step; the guardrail refuses a bot
PR that touches more than canary fields."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reconciler.app.canary import Analysis, AnalyzeOptions, analyze_region
from reconciler.app.desired import load_desired
from reconciler.app.gitops import Bot, GuardrailRefused, StaleVerdict, merge_guarded, note_hold, propose
from reconciler.core.canary import Decision, HoldReason, parse_zone
from reconciler.core.spec import FleetSpec
from reconciler.shells.forge import Forge
from reconciler.shells.git import Workspace, branch_for_canary
from reconciler.shells.prometheus import Prometheus
from tests.fixtures.github import ADMIN_TOKEN, BOT_TOKEN, NAME, OWNER, GitHubRemote
from tests.fixtures.prometheus import Exporter, PrometheusServer, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

AMS = "zones/eu-west/ams-01.yaml"
OPTIONS = AnalyzeOptions(window=timedelta(seconds=5), respect_maintenance_windows=False)


def traffic(canary_p95: float) -> list[dict[str, object]]:
    base = {"zone": "ams-01", "model": "fraud-scoring"}
    return [
        {**base, "version": "1.0.0", "track": "stable", "rate": 200, "p95Ms": 10.0, "errorRatio": 0},
        {**base, "version": "1.1.0", "track": "canary", "rate": 200, "p95Ms": canary_p95, "errorRatio": 0},
    ]


def ready(server: PrometheusServer, exporter: Exporter, canary_p95: float) -> Prometheus:
    exporter.set_profile(traffic(canary_p95))
    server.wait_for_value(
        'sum(increase(edgeops_requests_total{zone="ams-01",track="canary"}[5s]))',
        lambda n: n >= 600,
        "a full window of canary traffic",
    )
    return Prometheus(server.url)


def comments(remote: GitHubRemote, number: int) -> list[str]:
    return [c["body"] for c in remote.fake.comments.values() if c["issue"] == number]


def bot_for(remote: GitHubRemote, tmp_path: Path) -> Bot:
    workspace = Workspace.open_or_clone(str(remote.bare), tmp_path / "bot-clone")
    return Bot(workspace, Forge(OWNER, NAME, url=remote.url, token=BOT_TOKEN))


def analyse(bot: Bot, prom: Prometheus) -> tuple[FleetSpec, Analysis]:
    bot.workspace.fetch()
    load = load_desired(Path(bot.workspace.repo.path), "origin/main")
    assert load.spec is not None, load.problems
    (analysis,) = analyze_region(load.spec, "eu-west", prom, datetime.now(UTC), OPTIONS)
    return load.spec, analysis


def analyse_after_bake(bot: Bot, prom: Prometheus) -> tuple[FleetSpec, Analysis]:
    """The first analysis past the step's bake (a full window at the current weight): polls, never sleeps."""
    found: list[tuple[FleetSpec, Analysis]] = []

    def baked() -> bool:
        found[:] = [analyse(bot, prom)]
        return found[0][1].verdict.hold_reason is not HoldReason.BAKING

    wait_for(baked, "the step to bake one analysis window", timeout=60, every=0.5)
    return found[0]


def test_healthy_canary_walks_every_step_then_promotes(
    prometheus_with_exporter: tuple[PrometheusServer, Exporter], github_remote: GitHubRemote, tmp_path: Path
) -> None:
    prom = ready(*prometheus_with_exporter, canary_p95=12.0)
    # The bot reports edgeops/validate itself; "ci/tests" stands for the repository's other required checks.
    github_remote.fake.required_contexts = ["edgeops/validate", "ci/tests"]
    bot = bot_for(github_remote, tmp_path)
    bot.required_checks = ("edgeops/validate", "ci/tests")
    ci = Forge(OWNER, NAME, url=github_remote.url, token=ADMIN_TOKEN)
    seen: list[tuple[int, str]] = []
    for expected_weight in (25, 50, 100, None):
        if seen:
            # Right after a step merged, the new weight has no full window yet: it bakes.
            _, young = analyse(bot, prom)
            assert young.verdict.hold_reason is HoldReason.BAKING, young.verdict.summary()
        spec, analysis = analyse_after_bake(bot, prom)
        expected = Decision.PROMOTE if expected_weight is None else Decision.ADVANCE
        assert analysis.verdict.decision is expected, analysis.verdict.summary()
        if seen:
            # Judged on a full window that lies after the step started, never on traffic at the earlier weight.
            step_started = analysis.group.canary.step_started
            (evidence,) = analysis.verdict.evidence
            assert evidence.measured is not None
            assert evidence.measured[0] >= step_started
            assert evidence.measured[1] - evidence.measured[0] == OPTIONS.window
        first = propose(bot, spec, analysis.group, analysis.verdict)
        assert not first.merged
        assert first.note == "waiting for ci/tests"
        if expected_weight == 25:
            # While waiting, a hold shows the latest analysis on the open PR, in one comment edited in place.
            hold = replace(
                analysis.verdict,
                decision=Decision.HOLD,
                hold_reason=HoldReason.TOO_FEW_SAMPLES,
                reason="ams-01 has too few canary samples",
            )
            assert note_hold(bot, analysis.group, hold) == first.pull.number
            assert note_hold(bot, analysis.group, hold) == first.pull.number
            notes = comments(github_remote, first.pull.number)
            latest = [n for n in notes if n.startswith("<!-- edgeops:canary:latest -->")]
            assert len(latest) == 1
            assert "Latest analysis: hold (too-few-samples)" in latest[0]
            assert len([n for n in notes if n.startswith("<!-- edgeops:canary:latest-evidence -->")]) == 1
            assert len([n for n in notes if n.startswith("<!-- edgeops:canary:evidence -->")]) == 1
        ci.set_status(first.pull.head_sha, context="ci/tests", state="success", description="passed")
        # A later analysis proposes the same step again: same stamp, same commit, so the green check still counts.
        spec, again = analyse(bot, prom)
        assert again.verdict.decided_at != analysis.verdict.decided_at
        second = propose(bot, spec, again.group, again.verdict)
        assert second.merged, second
        assert second.pull.number == first.pull.number
        assert second.pull.head_sha == first.pull.head_sha
        seen.append((second.pull.number, second.pull.title))
        zone = parse_zone(AMS, github_remote.main_text(AMS))
        assignment = zone.assignment("fraud-scoring")
        assert assignment is not None
        if expected_weight is None:
            assert (assignment.version, assignment.canary) == ("1.1.0", None)
        else:
            assert assignment.canary is not None
            assert assignment.canary.weight == expected_weight
            assert assignment.canary.step_started_at is not None
            # The stamp is the analysis that first proposed the step (to the second).
            decided = analysis.verdict.decided_at
            assert decided is not None
            assert assignment.canary.step_started_at == decided.replace(microsecond=0)
    assert [title for _, title in seen] == [
        "canary: fraud-scoring 1.1.0 10% → 25% in ams-01",
        "canary: fraud-scoring 1.1.0 25% → 50% in ams-01",
        "canary: fraud-scoring 1.1.0 50% → 100% in ams-01",
        "canary: promote fraud-scoring 1.1.0 to stable in ams-01",
    ]
    assert len({n for n, _ in seen}) == 4
    assert len(github_remote.fake.pulls) == 4
    last = github_remote.fake.pulls[seen[-1][0]]
    assert "canary:promote" in last["labels"]
    assert "xychart-beta" not in last["body"]  # the body is a summary; the chart is in the evidence comment
    (evidence,) = (n for n in comments(github_remote, seen[-1][0]) if n.startswith("<!-- edgeops:canary:evidence -->"))
    assert "xychart-beta" in evidence
    assert "| ams\\-01 | pass |" in evidence

    # With nothing open, an ordinary hold has nowhere to go, but an inconclusive one is said on the newest PR.
    hold = replace(analysis.verdict, decision=Decision.HOLD, hold_reason=HoldReason.TOO_FEW_SAMPLES, reason="thin")
    assert note_hold(bot, analysis.group, hold) is None
    stuck = replace(hold, hold_reason=HoldReason.INCONCLUSIVE, reason="inconclusive after 40 s at weight 100")
    assert note_hold(bot, analysis.group, stuck) == seen[-1][0]
    notes = [c["body"] for c in github_remote.fake.comments.values() if c["issue"] == seen[-1][0]]
    assert any("Latest analysis: hold (inconclusive)" in n for n in notes)


def test_slow_canary_rollback_is_merged_at_once_and_restarts_never_duplicate(
    prometheus_with_exporter: tuple[PrometheusServer, Exporter], github_remote: GitHubRemote, tmp_path: Path
) -> None:
    prom = ready(*prometheus_with_exporter, canary_p95=90.0)
    github_remote.fake.required_contexts = ["edgeops/validate"]  # rollbacks never wait for it
    bot = bot_for(github_remote, tmp_path)
    spec, analysis = analyse(bot, prom)
    assert analysis.verdict.decision is Decision.ROLLBACK

    # A crash after the push, before the PR: the branch exists, no PR. The rerun opens exactly one and merges.
    branch = branch_for_canary("ams-01", "fraud-scoring")
    bot.workspace.commit_on_branch(branch, "origin/main", {AMS: github_remote.main_text(AMS)}, "partial")
    bot.workspace.push(branch)
    assert github_remote.fake.pulls == {}
    restarted = bot_for(github_remote, tmp_path)
    proposal = propose(restarted, spec, analysis.group, analysis.verdict)
    assert proposal.merged, proposal
    assert len(github_remote.fake.pulls) == 1
    assert parse_zone(AMS, github_remote.main_text(AMS)).spec.models[0].canary is None
    pr = github_remote.fake.pulls[proposal.pull.number]
    assert pr["title"] == "canary: roll back fraud-scoring 1.1.0 in ams-01"
    assert "p95" in pr["body"]
    assert "Failing zones:\n- ams\\-01: p95" in pr["body"]
    (evidence,) = comments(github_remote, proposal.pull.number)
    assert evidence.startswith("<!-- edgeops:canary:evidence -->")
    assert "| ams\\-01 | fail |" in evidence
    assert "canary:rollback" in pr["labels"]


def test_a_step_changed_by_a_person_meanwhile_is_never_overwritten(
    prometheus_with_exporter: tuple[PrometheusServer, Exporter], github_remote: GitHubRemote, tmp_path: Path
) -> None:
    prom = ready(*prometheus_with_exporter, canary_p95=12.0)
    bot = bot_for(github_remote, tmp_path)
    spec, analysis = analyse(bot, prom)
    assert analysis.verdict.decision is Decision.ADVANCE
    assert (analysis.verdict.analysed.weight, analysis.verdict.next_weight) == (10, 25)

    # Meanwhile a person takes the canary to 50% by hand (their own PR, merged).
    text = github_remote.main_text(AMS)
    by_hand = datetime.now(UTC).replace(microsecond=0)
    edited = text.replace("weight: 10", "weight: 50").replace(
        'startedAt: "2026-11-27T09:00:00Z"',
        f'startedAt: "2026-11-27T09:00:00Z"\n        stepStartedAt: "{by_hand.isoformat()}"',
    )
    github_remote.human_push("main", {AMS: edited}, "canary: fraud-scoring to 50% by hand")
    main_before = github_remote.main_text(AMS)

    branch = branch_for_canary("ams-01", "fraud-scoring")
    with pytest.raises(StaleVerdict, match=r"now runs canary 1\.1\.0 live at 50%, not 1\.1\.0 live at 10% as analysed"):
        propose(bot, spec, analysis.group, analysis.verdict)
    assert bot.workspace.remote_tip(branch) is None  # nothing pushed
    assert github_remote.fake.pulls == {}
    assert github_remote.main_text(AMS) == main_before

    # A rollback made for the old step is refused the same way: it is about a canary that no longer runs.
    rollback_at_10 = replace(analysis.verdict, decision=Decision.ROLLBACK, next_phase=None, next_weight=None)
    with pytest.raises(StaleVerdict):
        propose(bot, spec, analysis.group, rollback_at_10)

    # The next analysis starts over for the canary as it is now: at 50%, baking from the person's stamp.
    _, fresh = analyse(bot, prom)
    assert (fresh.verdict.analysed.weight, fresh.group.canary.step_started) == (50, by_hand)
    assert fresh.verdict.hold_reason is HoldReason.BAKING, fresh.verdict.summary()


def test_the_guardrail_refuses_more_than_canary_fields(github_remote: GitHubRemote, tmp_path: Path) -> None:
    bot = bot_for(github_remote, tmp_path)
    text = github_remote.main_text(AMS)
    branch = branch_for_canary("ams-01", "fraud-scoring")
    sneaky = text.replace("weight: 10", "weight: 25").replace("replicas: 2", "replicas: 10")  # within partitions: 12
    bot.workspace.commit_on_branch(branch, "origin/main", {AMS: sneaky, "fleet/extra.txt": "x\n"}, "step")
    bot.workspace.push(branch)
    pull, _ = bot.forge.open_or_update_pull(branch=branch, base="main", title="step", body="")
    with pytest.raises(GuardrailRefused) as refused:
        merge_guarded(bot.workspace, bot.forge, pull, message="merge")
    assert any("fleet/extra.txt: not a zone file" in p for p in refused.value.problems)
    assert any("fields other than canary fields changed" in p for p in refused.value.problems)
    assert not github_remote.fake.pulls[pull.number]["merged"]
