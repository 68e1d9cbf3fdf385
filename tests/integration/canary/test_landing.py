"""A step is baked from when it landed on the base branch (a bare git remote, the local GitHub, real Prometheus).

Matrix: `landed_at` walks the zone file's history — the commit that brought the current step, unrelated commits
after it ignored, a canary absent at the tip has none, a step present since the first commit lands with it; a step
proposed an hour ago but merged just now (review) bakes one full window from the merge before the controller's pass
advances it, where its stamp alone would have advanced it at once.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reconciler.app.canary import AnalyzeOptions, CanaryOutcome, ControllerMetrics, controller_pass
from reconciler.app.canary.landing import landed_at
from reconciler.app.gitops import Bot
from reconciler.core.canary import Decision, HoldReason
from reconciler.shells.forge import Forge
from reconciler.shells.git import Workspace
from reconciler.shells.prometheus import Prometheus
from tests.fixtures.github import BOT_TOKEN, NAME, OWNER, GitHubRemote
from tests.fixtures.prometheus import Exporter, PrometheusServer, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

AMS = "zones/eu-west/ams-01.yaml"
WINDOW = timedelta(seconds=5)


def clone(remote: GitHubRemote, tmp_path: Path) -> Workspace:
    ws = Workspace.open_or_clone(str(remote.bare), tmp_path / "clone")
    ws.fetch()
    return ws


def at_weight(text: str, weight: int, stamp: datetime) -> str:
    stamped = stamp.isoformat(timespec="seconds").replace("+00:00", "Z")
    text = re.sub(r"weight: \d+", f"weight: {weight}", text, count=1)
    text = re.sub(r"\n        stepStartedAt: .*", "", text)
    return text.replace("\n        startedAt:", f'\n        stepStartedAt: "{stamped}"\n        startedAt:', 1)


def test_landed_at_is_the_commit_that_brought_the_step(github_remote: GitHubRemote, tmp_path: Path) -> None:
    seeded = clone(github_remote, tmp_path / "a")
    # The template's canary has been there since the first commit: it landed with it.
    first = landed_at(seeded, "origin/main", AMS, "fraud-scoring")
    assert first == datetime.fromtimestamp(1_700_000_000, UTC)
    assert landed_at(seeded, "origin/main", AMS, "sensor-anomaly") is None  # no canary of it there

    original = github_remote.main_text(AMS)
    github_remote.human_push("main", {AMS: at_weight(original, 25, datetime(2026, 12, 1, tzinfo=UTC))}, "step")
    before = datetime.now(UTC).replace(microsecond=0)
    other = "zones/eu-west/fra-02.yaml"
    github_remote.human_push("main", {other: github_remote.main_text(other) + "# a comment\n"}, "unrelated")
    ws = clone(github_remote, tmp_path / "b")
    landed = landed_at(ws, "origin/main", AMS, "fraud-scoring")
    assert landed is not None
    assert before - timedelta(seconds=5) <= landed <= datetime.now(UTC)
    ws.fetch()
    tip = ws.resolve("origin/main")
    # The step's own commit, not the unrelated one after it.
    (step_time, _), (unrelated_time, _) = list(ws.file_history(tip, AMS, 2))[::-1]
    assert landed == step_time <= unrelated_time


def test_a_step_merged_after_review_bakes_from_the_merge(
    prometheus_with_exporter: tuple[PrometheusServer, Exporter], github_remote: GitHubRemote, tmp_path: Path
) -> None:
    server, exporter = prometheus_with_exporter
    base = {"zone": "ams-01", "model": "fraud-scoring", "rate": 200, "errorRatio": 0}
    exporter.set_profile(
        [
            {**base, "version": "1.0.0", "track": "stable", "p95Ms": 10.0},
            {**base, "version": "1.1.0", "track": "canary", "p95Ms": 12.0},
        ]
    )
    server.wait_for_value(
        'sum(increase(edgeops_requests_total{zone="ams-01",track="canary"}[5s]))',
        lambda n: n >= 600,
        "a full window of healthy canary traffic",
    )
    # Proposed an hour ago, merged by a reviewer just now.
    proposed = datetime.now(UTC) - timedelta(hours=1)
    github_remote.human_push("main", {AMS: at_weight(github_remote.main_text(AMS), 25, proposed)}, "merge step")
    merged_at = datetime.now(UTC)
    bot = Bot(clone(github_remote, tmp_path), Forge(OWNER, NAME, url=github_remote.url, token=BOT_TOKEN))
    options = AnalyzeOptions(window=WINDOW, respect_maintenance_windows=False)
    metrics = ControllerMetrics("eu-west")

    (young,) = controller_pass(bot, Prometheus(server.url), "eu-west", now=datetime.now(UTC), options=options).outcomes
    assert young.analysis is not None
    assert young.analysis.verdict.hold_reason is HoldReason.BAKING, young.analysis.verdict.summary()
    # Git records commit times in whole seconds, so the step starts at the merge commit's second.
    started = young.analysis.group.canary.step_started
    assert merged_at.replace(microsecond=0) - timedelta(seconds=2) <= started <= merged_at

    outcomes: list[CanaryOutcome] = []

    def advanced() -> bool:
        done = controller_pass(
            bot, Prometheus(server.url), "eu-west", now=datetime.now(UTC), options=options, metrics=metrics
        )
        outcomes[:] = done.outcomes
        return (
            bool(done.outcomes)
            and done.outcomes[0].analysis is not None
            and (done.outcomes[0].analysis.verdict.decision is Decision.ADVANCE)
        )

    wait_for(advanced, "the step to bake one window after its merge", timeout=60, every=0.5)
    (step,) = outcomes
    assert step.analysis is not None
    assert datetime.now(UTC) >= started + WINDOW
    (evidence,) = step.analysis.verdict.evidence
    assert evidence.measured is not None
    assert evidence.measured[0] >= merged_at.replace(microsecond=0) - timedelta(seconds=2)
