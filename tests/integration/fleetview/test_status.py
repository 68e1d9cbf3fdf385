"""`edgeops status` against live zones (real kube-apiservers): after a pass, every zone's row carries the
revision its inventory records and the status the pass left; a zone whose context does not exist is Unreachable
and stale; `--format json` from a git commit, exit 3 while a zone is stale."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from reconciler.app.desired import load_desired
from reconciler.app.fleetview import StatusOptions, region_status
from reconciler.app.reconcile import run_once
from reconciler.cli.main import app
from tests.fixtures.fleet_repo import ModelDef, ReconcileEnv, ZoneDef

pytestmark = pytest.mark.integration


def _commit(env: ReconcileEnv) -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(env.root), *args], check=True, capture_output=True, text=True
        ).stdout.strip()

    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "fleet")
    return git("rev-parse", "HEAD")


def test_status_reads_the_zones_records_and_the_branch_head(reconcile_env: ReconcileEnv) -> None:
    zones = [
        ZoneDef("ams-01", "zone-a", models=(ModelDef("fraud-scoring", replicas=0, canary="1.1.0"),)),
        ZoneDef("fra-02", "zone-b"),
        ZoneDef("lis-03", "no-such-context"),
    ]
    reconcile_env.write(zones)
    head = _commit(reconcile_env)
    load = load_desired(reconcile_env.root, "HEAD")
    results = {r.zone: r for r in run_once(load, reconcile_env.region, reconcile_env.options())}
    assert results["ams-01"].status.value == "Synced"

    options = StatusOptions(kubeconfig=reconcile_env.kubeconfig, namespace=reconcile_env.namespace)
    status = region_status(load, reconcile_env.region, options, datetime.now(UTC))
    rows = {row.zone: row for row in status.rows}
    assert rows["ams-01"].status == "Synced"
    assert rows["ams-01"].applied == head
    assert rows["ams-01"].in_sync
    assert not rows["ams-01"].stale
    assert rows["ams-01"].since is not None
    assert rows["ams-01"].models[0].canary_version == "1.1.0"
    assert rows["lis-03"].status == "Unreachable"
    assert rows["lis-03"].stale
    assert "no-such-context" in rows["lis-03"].reason

    out = CliRunner().invoke(
        app,
        [
            "status",
            "--region",
            reconcile_env.region,
            "--repo",
            str(reconcile_env.root),
            "--kubeconfig",
            str(reconcile_env.kubeconfig),
            "--namespace",
            reconcile_env.namespace,
            "--format",
            "json",
        ],
    )
    assert out.exit_code == 3, out.output  # lis-03 is stale
    parsed = {row["zone"]: row for row in json.loads(out.stdout)}
    assert parsed["fra-02"]["applied"] == head
    assert parsed["fra-02"]["status"] == "Synced"
    assert parsed["lis-03"]["reachable"] is False
