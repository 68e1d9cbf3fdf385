"""The `edgeops render | plan | apply | reconcile` commands against the real zone API servers.

Matrix: render --out writes one file per object; plan exits 3 with changes pending (text and markdown), apply
exits 0 when Synced, plan then exits 0; an invalid fleet makes plan and apply exit 1 and apply nothing; reconcile
--once on a git repository exits 0 with the zone Synced at the commit's SHA.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from reconciler.cli.main import app
from reconciler.shells.kube import ZoneClient
from tests.fixtures.fleet_repo import ModelDef, ReconcileEnv, ZoneDef
from tests.fixtures.template_repo import commit_all

pytestmark = pytest.mark.integration


def _run(env: ReconcileEnv, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        app,
        [*args, "--region", env.region, "--repo", str(env.root), "--namespace", env.namespace],
        env={"KUBECONFIG": str(env.kubeconfig)},
    )
    return result.exit_code, result.output


def test_render_plan_apply_plan(reconcile_env: ReconcileEnv, tmp_path: Path) -> None:
    reconcile_env.write([ZoneDef(f"c-{reconcile_env.suffix}", "zone-c")])
    code, out = _run(reconcile_env, "render", "--out", str(tmp_path / "out"))
    assert code == 0, out
    files = sorted(p.name for p in (tmp_path / "out" / f"c-{reconcile_env.suffix}").iterdir())
    assert files[0] == f"001-namespace-{reconcile_env.namespace}.yaml"
    assert len(files) == 9

    code, out = _run(reconcile_env, "plan")
    assert code == 3, out
    assert "9 to create" in out
    code, out = _run(reconcile_env, "plan", "--format", "markdown")
    assert code == 3, out
    assert "<details><summary>create <code>Deployment/" in out

    code, out = _run(reconcile_env, "apply", "--health-timeout", "60")
    assert code == 0, out
    assert "Synced" in out
    code, out = _run(reconcile_env, "plan")
    assert code == 0, out
    assert "0 to create, 0 to configure, 9 unchanged" in out


def test_invalid_fleet_exits_1_and_applies_nothing(reconcile_env: ReconcileEnv) -> None:
    reconcile_env.write([ZoneDef(f"c-{reconcile_env.suffix}", "zone-c", (ModelDef("no-such-model"),))])
    for command in ("plan", "apply"):
        code, out = _run(reconcile_env, command)
        assert code == 1, out
        assert "no-such-model" in out
    client = ZoneClient.connect("zone-c", "zone-c", reconcile_env.kubeconfig)
    assert client.get("v1", "Namespace", "", reconcile_env.namespace) is None


def test_reconcile_once_from_a_git_repository(reconcile_env: ReconcileEnv, tmp_path: Path) -> None:
    reconcile_env.write([ZoneDef(f"b-{reconcile_env.suffix}", "zone-b")])
    sha = commit_all(reconcile_env.root)
    result = CliRunner().invoke(
        app,
        [
            "reconcile",
            "--region",
            reconcile_env.region,
            "--repo",
            str(reconcile_env.root),
            "--namespace",
            reconcile_env.namespace,
            "--once",
            "--no-leader-elect",
            "--metrics-port",
            "0",
            "--cache-dir",
            str(tmp_path / "cache"),
        ],
        env={"KUBECONFIG": str(reconcile_env.kubeconfig)},
    )
    assert result.exit_code == 0, result.output
    assert f"Synced       @{sha[:12]}" in result.output
    client = ZoneClient.connect("zone-b", "zone-b", reconcile_env.kubeconfig)
    deployment = client.get("apps/v1", "Deployment", reconcile_env.namespace, "sensor-anomaly")
    assert deployment is not None
    assert deployment["metadata"]["annotations"]["edgeops.io/revision"] == sha
