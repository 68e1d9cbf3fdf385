"""The `edgeops bot` and `edgeops canary` commands as GitHub Actions run them: event payload from
$GITHUB_EVENT_PATH, token from the environment, the local GitHub. Matrix: `bot pr` on a valid PR (exit 0, one
comment) · `bot comment` from a reader (exit 3, refusal) · `bot deploy` without credentials (pending statuses
per region) · `bot serve` without a secret (exit 2) · `canary analyze` with Prometheus unreachable (hold, exit 0)
· `canary run --once` on an erroring canary (rollback PR merged)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reconciler.cli.main import app
from reconciler.sandbox import free_port
from tests.fixtures.github import BOT_TOKEN, GitHubRemote
from tests.fixtures.prometheus import Exporter, PrometheusServer

pytestmark = pytest.mark.integration


def run(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    result = CliRunner().invoke(app, args, env=env)
    return result.exit_code, result.output


def actions_env(remote: GitHubRemote, tmp_path: Path, event: dict[str, object]) -> tuple[dict[str, str], list[str]]:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    env = {"GITHUB_EVENT_PATH": str(path), "GITHUB_REPOSITORY": "acme/edge-fleet", "EDGEOPS_GITHUB_TOKEN": BOT_TOKEN}
    return env, ["--github-url", remote.url, "--clone-url", str(remote.bare), "--workdir", str(tmp_path / "clone")]


def test_actions_commands(github_remote: GitHubRemote, tmp_path: Path) -> None:
    head = github_remote.human_push("alice/x", {"README.md": "x\n"}, "readme")
    number = github_remote.fake.open_pull("alice/x", "main", "readme", "", "alice")["number"]
    env, common = actions_env(github_remote, tmp_path, {"pull_request": {"number": number}})
    code, out = run(["bot", "pr", *common], env)
    assert code == 0, out
    assert "valid" in out
    assert len(github_remote.fake.comments) == 1

    comment = {"issue": {"number": number}, "comment": {"user": {"login": "mallory"}, "body": "/edgeops plan"}}
    env, common = actions_env(github_remote, tmp_path, comment)
    code, out = run(["bot", "comment", *common], env)
    assert code == 3, out
    assert "needs write permission" in out

    code, out = run(["bot", "deploy", "--sha", head, *common], env)
    assert code == 0, out
    assert "edgeops/eu-west: pending" in out
    assert {s["context"] for s in github_remote.fake.statuses[head]} >= {"edgeops/eu-west", "edgeops/us-east"}

    code, out = run(["bot", "serve", *common], {**env, "EDGEOPS_WEBHOOK_SECRET": ""})
    assert code == 2
    assert "webhook secret" in out


def test_canary_analyze_holds_when_prometheus_is_down() -> None:
    repo = Path(__file__).resolve().parents[3]
    code, out = run(
        [
            "canary",
            "analyze",
            "--region",
            "eu-west",
            "--repo",
            str(repo),
            "--format",
            "json",
            "--prometheus",
            f"http://127.0.0.1:{free_port()}",
        ],
        {},
    )
    assert code == 0, out
    (verdict,) = json.loads(out)
    assert (verdict["decision"], verdict["holdReason"]) == ("hold", "prometheus-unreachable")


def test_canary_run_once_merges_a_rollback(
    github_remote: GitHubRemote, prometheus_with_exporter: tuple[PrometheusServer, Exporter], tmp_path: Path
) -> None:
    server, exporter = prometheus_with_exporter
    base = {"zone": "ams-01", "model": "fraud-scoring"}
    exporter.set_profile(
        [
            {**base, "version": "1.0.0", "track": "stable", "rate": 200, "p95Ms": 10.0, "errorRatio": 0},
            {**base, "version": "1.1.0", "track": "canary", "rate": 200, "p95Ms": 12.0, "errorRatio": 0.3},
        ]
    )
    server.wait_for_value(
        'sum(increase(edgeops_requests_total{zone="ams-01",track="canary"}[5s]))',
        lambda n: n >= 600,
        "a full window of erroring canary traffic",
    )
    env, common = actions_env(github_remote, tmp_path, {})
    code, out = run(
        ["canary", "run", "--once", "--region", "eu-west", "--prometheus", server.url, "--window", "5s", *common], env
    )
    assert code == 0, out
    assert "rollback" in out
    assert "merged" in out
    assert "canary:" not in github_remote.main_text("zones/eu-west/ams-01.yaml")
