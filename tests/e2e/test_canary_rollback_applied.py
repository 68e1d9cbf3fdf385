"""End to end: a slow canary in a real zone cluster → the controller's rollback PR (local GitHub, bare remote) is
merged at once → the reconciler applies `main` and the canary Deployment is gone from the zone, while the stable
Deployment stays; the post-merge report then sets `edgeops/<region>` = success (one report comment beside the
evidence comment). The same with the zone paused by a person (who also edits its stable replicas): the rollback
still reaches it, and the person's edit does not. Real components: kube-apiserver zone (localkube), Prometheus
scraping an exporter process,
the OpenAPI-validated GitHub fake, pygit2 against a bare repository."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pygit2
import pytest

from reconciler.app.bot import report_deploy, rollout
from reconciler.app.canary import AnalyzeOptions, analyze_region
from reconciler.app.desired import load_desired
from reconciler.app.gitops import Bot, propose
from reconciler.app.reconcile import repository_history, run_once
from reconciler.core.canary import Decision
from reconciler.shells.forge import Forge
from reconciler.shells.git import Workspace
from reconciler.shells.kube import ZoneClient
from reconciler.shells.prometheus import Prometheus
from tests.fixtures.fleet_repo import ModelDef, ReconcileEnv, ZoneDef, write_fleet
from tests.fixtures.github import BOT_TOKEN, NAME, OWNER, GitHubFactory
from tests.fixtures.prometheus import Exporter, PrometheusServer

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def deployments(env: ReconcileEnv, context: str) -> set[str]:
    client = ZoneClient.connect(context, context, env.kubeconfig)
    return {item["metadata"]["name"] for item in client.list("apps/v1", "Deployment", env.namespace)}


def stable_replicas(env: ReconcileEnv, context: str) -> int:
    client = ZoneClient.connect(context, context, env.kubeconfig)
    found = client.get("apps/v1", "Deployment", env.namespace, "fraud-scoring")
    assert found is not None
    return int(found["spec"]["replicas"])


@pytest.mark.parametrize("paused", [False, True], ids=["running", "paused"])
def test_slow_canary_is_rolled_back_through_git_and_removed_from_the_zone(
    paused: bool,
    reconcile_env: ReconcileEnv,
    github_factory: GitHubFactory,
    prometheus_with_exporter: tuple[PrometheusServer, Exporter],
    tmp_path: Path,
) -> None:
    env = reconcile_env
    zone = f"ams-{env.suffix}"
    write_fleet(env.root, env.region, [ZoneDef(zone, "zone-a", (ModelDef("fraud-scoring", "1.0.0", 0, "1.1.0"),))])
    remote = github_factory(env.root)
    history = repository_history(remote.bare)

    def reconcile() -> Any:
        load = load_desired(remote.bare, "main")
        assert load.spec is not None, load.problems
        (result,) = run_once(load, env.region, env.options(), history=history)
        return result

    reconcile()
    before = deployments(env, "zone-a")
    canaries = {name for name in before if "canary" in name}
    assert canaries, before
    if paused:
        path = f"zones/{env.region}/{zone}.yaml"
        text = remote.main_text(path)
        # one more stable replica (above one would also need partitions: a StatefulSet, not this Deployment)
        edited = text.replace("  nats:\n", "  paused: true\n  nats:\n", 1).replace("replicas: 0", "replicas: 1", 1)
        assert edited.count("paused: true") == 1
        assert "replicas: 1" in edited
        remote.human_push("main", {path: edited}, "pause ams while the site is serviced; more stable replicas")
        held = reconcile()
        assert (held.applied, held.pruned) == (0, 0), held.line()
        assert "paused at" in held.message, held.line()
        assert deployments(env, "zone-a") == before

    server, exporter = prometheus_with_exporter
    base = {"zone": zone, "model": "fraud-scoring"}
    exporter.set_profile(
        [
            {**base, "version": "1.0.0", "track": "stable", "rate": 200, "p95Ms": 10.0, "errorRatio": 0},
            {**base, "version": "1.1.0", "track": "canary", "rate": 200, "p95Ms": 95.0, "errorRatio": 0},
        ]
    )
    server.wait_for_value(
        f'sum(increase(edgeops_requests_total{{zone="{zone}",track="canary"}}[5s]))',
        lambda n: n >= 600,
        "a full window of slow canary traffic",
    )
    bot = Bot(
        Workspace.open_or_clone(str(remote.bare), tmp_path / "bot"), Forge(OWNER, NAME, url=remote.url, token=BOT_TOKEN)
    )
    load = load_desired(remote.bare, "main")
    assert load.spec is not None
    (analysis,) = analyze_region(
        load.spec,
        env.region,
        Prometheus(server.url),
        datetime.now(UTC),
        AnalyzeOptions(window=timedelta(seconds=5), respect_maintenance_windows=False),
    )
    assert analysis.verdict.decision is Decision.ROLLBACK, analysis.verdict.summary()
    proposal = propose(bot, load.spec, analysis.group, analysis.verdict)
    assert proposal.merged, proposal
    # Merged but not applied yet: the zone's reconciler still records the previous revision.
    waiting = rollout(bot, github_remote_main(remote), env.kubeconfig, env.namespace)
    assert {r.region: r.state for r in waiting}[env.region] == "pending", waiting

    result = reconcile()
    after = deployments(env, "zone-a")
    assert not {name for name in after if "canary" in name}, after
    assert before - canaries == after
    assert result.pruned >= 1
    # Paused: the rollback is the only change; the person's replicas edit waits for the zone to be resumed.
    assert stable_replicas(env, "zone-a") == 0
    assert ("paused at" in result.message) is paused, result.line()

    # The post-merge report sees the zone at the merged revision: edgeops/<region> success, one report comment.
    merged_sha = github_remote_main(remote)
    regions = report_deploy(
        bot, merged_sha, number=proposal.pull.number, kubeconfig=env.kubeconfig, namespace=env.namespace
    )
    assert {r.region: r.state for r in regions}[env.region] == "success", regions
    statuses = {s["context"]: s["state"] for s in remote.fake.statuses[merged_sha]}
    assert statuses[f"edgeops/{env.region}"] == "success"
    comments = [c["body"] for c in remote.fake.comments.values() if c["issue"] == proposal.pull.number]
    report = [c for c in comments if c.startswith("<!-- edgeops:deploy -->")]
    assert len(report) == 1
    assert "in sync" in report[0]
    assert ("paused at" in report[0]) is paused
    # Besides the report, only the rollback's evidence comment.
    evidence = [c for c in comments if c.startswith("<!-- edgeops:canary:evidence -->")]
    assert (len(evidence), len(comments)) == (1, 2)


def github_remote_main(remote: Any) -> str:
    repo = pygit2.Repository(str(remote.bare))
    return str(repo.references["refs/heads/main"].target)
