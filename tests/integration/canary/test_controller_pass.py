"""One controller pass over a region with two failing canaries (us-east: chi-03 and nyc-01, fraud-scoring 1.1.0 at
10 %, both slow), against real Prometheus + exporter, the local GitHub and a bare git remote. Matrix: any exception
while analysing one canary (not a listed kind) leaves it an error outcome, counted in `edgeops_canary_errors`, while
the other is rolled back and merged; any exception while acting on one (here: its merge) is said on its open pull
request in one comment edited in place, counted, and the other rollback still merges; a region with nothing wrong
reports no error, and its rollbacks are notification events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from reconciler.app.canary import AnalyzeOptions, ControllerMetrics, controller_pass
from reconciler.app.gitops import Bot
from reconciler.app.notify import canary_events
from reconciler.core.canary import Decision, parse_zone
from reconciler.shells.forge import Forge
from reconciler.shells.git import Workspace
from reconciler.shells.prometheus import Prometheus
from tests.fixtures.github import BOT_TOKEN, NAME, OWNER, GitHubRemote
from tests.fixtures.prometheus import Exporter, PrometheusServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REGION = "us-east"
ZONES = ("chi-03", "nyc-01")
OPTIONS = AnalyzeOptions(window=timedelta(seconds=5), respect_maintenance_windows=False)
CANARY = """      canary:
        version: 1.1.0
        weight: 10
        phase: live
        startedAt: "2026-11-27T09:00:00Z"
"""


def path_of(zone: str) -> str:
    return f"zones/{REGION}/{zone}.yaml"


def with_canary(text: str) -> str:
    """The zone file with a fraud-scoring 1.1.0 canary appended to its fraud-scoring assignment."""
    lines = text.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.strip() == "- model: fraud-scoring")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("- model:")), len(lines))
    return "".join([*lines[:end], CANARY, *lines[end:]])


def canary_of(remote: GitHubRemote, zone: str) -> Any:
    assignment = parse_zone(path_of(zone), remote.main_text(path_of(zone))).assignment("fraud-scoring")
    assert assignment is not None
    return assignment.canary


class FailingFor(Prometheus):
    """Prometheus that fails — with an exception none of our code expects — for every query about one zone."""

    def __init__(self, url: str, zone: str) -> None:
        super().__init__(url)
        self._zone = zone

    def scalar(self, query: str, at: datetime) -> float | None:
        if f'zone="{self._zone}"' in query:
            raise ZeroDivisionError(f"unexpected trouble in {self._zone}")
        return super().scalar(query, at)


class MergeFailsFor(Forge):
    """The forge, except that merging pull requests of one branch raises an exception nobody lists."""

    def __init__(self, branch_part: str, **kwargs: Any) -> None:
        super().__init__(OWNER, NAME, **kwargs)
        self._part = branch_part

    def merge(self, number: int, *, sha: str, message: str) -> str:
        if self._part in self.pull(number).head_ref:
            raise LookupError("the merge button fell off")
        return super().merge(number, sha=sha, message=message)


@pytest.fixture
def slow_region(
    prometheus_with_exporter: tuple[PrometheusServer, Exporter], github_remote: GitHubRemote
) -> tuple[Prometheus, GitHubRemote]:
    server, exporter = prometheus_with_exporter
    files = {path_of(z): with_canary(github_remote.main_text(path_of(z))) for z in ZONES}
    github_remote.human_push("main", files, "canary: fraud-scoring 1.1.0 at 10% in chi-03 and nyc-01")
    profile = []
    for zone in ZONES:
        base = {"zone": zone, "model": "fraud-scoring", "rate": 200, "errorRatio": 0}
        profile += [
            {**base, "version": "1.0.0", "track": "stable", "p95Ms": 10.0},
            {**base, "version": "1.1.0", "track": "canary", "p95Ms": 95.0},
        ]
    exporter.set_profile(profile)
    for zone in ZONES:
        server.wait_for_value(
            f'sum(increase(edgeops_requests_total{{zone="{zone}",track="canary"}}[5s]))',
            lambda n: n >= 600,
            f"a full window of slow canary traffic in {zone}",
        )
    return Prometheus(server.url), github_remote


def errors(metrics: ControllerMetrics, stage: str) -> float:
    value = metrics.registry.get_sample_value(
        "edgeops_canary_errors_total", {"region": REGION, "model": "fraud-scoring", "stage": stage}
    )
    return value or 0.0


def test_an_unexpected_failure_analysing_one_canary_never_stops_the_others_rollback(
    slow_region: tuple[Prometheus, GitHubRemote], tmp_path: Path
) -> None:
    prom, remote = slow_region
    bot = Bot(
        Workspace.open_or_clone(str(remote.bare), tmp_path / "bot"), Forge(OWNER, NAME, url=remote.url, token=BOT_TOKEN)
    )
    metrics = ControllerMetrics(REGION)
    done = controller_pass(
        bot, FailingFor(prom.url, "chi-03"), REGION, now=datetime.now(UTC), options=OPTIONS, metrics=metrics
    )
    by_zone = {o.group.zones: o for o in done.outcomes}
    broken, fine = by_zone[("chi-03",)], by_zone[("nyc-01",)]
    assert broken.analysis is None
    assert broken.error is not None
    assert "analysis failed: ZeroDivisionError: unexpected trouble in chi-03" in broken.error
    assert fine.error is None
    assert fine.proposal is not None
    assert fine.proposal.merged, fine.proposal
    assert done.failed
    assert errors(metrics, "analysis") == 1
    assert canary_of(remote, "nyc-01") is None  # rolled back on main
    assert canary_of(remote, "chi-03") is not None  # untouched: its analysis never finished


def test_an_unexpected_failure_acting_on_one_canary_is_said_on_its_pull_request(
    slow_region: tuple[Prometheus, GitHubRemote], tmp_path: Path
) -> None:
    prom, remote = slow_region
    forge = MergeFailsFor("chi-03", url=remote.url, token=BOT_TOKEN)
    bot = Bot(Workspace.open_or_clone(str(remote.bare), tmp_path / "bot"), forge)
    metrics = ControllerMetrics(REGION)
    merged: list[str] = []
    for _ in range(2):  # the second pass retries the broken one and edits the same comment
        done = controller_pass(
            bot,
            prom,
            REGION,
            now=datetime.now(UTC),
            options=OPTIONS,
            metrics=metrics,
            on_merged=lambda group, _proposal: merged.append(",".join(group.zones)),
        )
    assert merged == ["nyc-01"]
    assert canary_of(remote, "nyc-01") is None
    assert canary_of(remote, "chi-03") is not None
    (broken,) = [o for o in done.outcomes if o.group.zones == ("chi-03",)]
    assert broken.analysis is not None
    assert broken.analysis.verdict.decision is Decision.ROLLBACK
    assert broken.error is not None
    assert "action failed: LookupError: the merge button fell off" in broken.error
    assert errors(metrics, "action") == 2
    (pull,) = [p for p in remote.fake.pulls.values() if "chi-03" in p["head"]]
    assert pull["state"] == "open"
    notes = [c["body"] for c in remote.fake.comments.values() if c["issue"] == pull["number"]]
    failures = [n for n in notes if "could not handle this canary" in n]
    assert len(failures) == 1, notes
    assert "LookupError" in failures[0]


def test_a_clean_pass_rolls_both_back_and_reports_no_error(
    slow_region: tuple[Prometheus, GitHubRemote], tmp_path: Path
) -> None:
    prom, remote = slow_region
    bot = Bot(
        Workspace.open_or_clone(str(remote.bare), tmp_path / "bot"), Forge(OWNER, NAME, url=remote.url, token=BOT_TOKEN)
    )
    metrics = ControllerMetrics(REGION)
    done = controller_pass(bot, prom, REGION, now=datetime.now(UTC), options=OPTIONS, metrics=metrics)
    assert not done.failed
    assert [o.analysis.verdict.decision for o in done.outcomes if o.analysis] == [Decision.ROLLBACK] * 2
    assert all(o.proposal is not None and o.proposal.merged for o in done.outcomes)
    assert errors(metrics, "analysis") == errors(metrics, "action") == 0
    # Each merged rollback is one critical notification event, keyed by its pull request.
    events = canary_events(REGION, done.outcomes, datetime.now(UTC))
    assert [(e.kind, e.severity) for e in events] == [("rollback", "critical")] * 2
    assert {e.data["pull_request"] for e in events} == {o.proposal.pull.number for o in done.outcomes if o.proposal}
    assert all(e.data["merged"] for e in events)
    assert done.notifications is not None
    # Nothing left to judge: the next pass is empty and clean.
    again = controller_pass(bot, prom, REGION, now=datetime.now(UTC), options=OPTIONS, metrics=metrics)
    assert again.outcomes == ()
    assert not again.failed
