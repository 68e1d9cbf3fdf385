"""`edgeops reconcile` as a real process: JSON logs per zone, then SIGTERM -> graceful stop (exit 0) with the
Lease released for a standby.

Matrix: one replica with leader election against zone-a's Lease, interval 1s, a git repository; SIGTERM after
its first reconciled zone; the process exits 0 within the timeout and the Lease has no holder afterwards.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest

from reconciler.shells.kube import ZoneClient
from tests.fixtures.fleet_repo import ReconcileEnv, ZoneDef
from tests.fixtures.template_repo import commit_all

pytestmark = pytest.mark.integration


def test_sigterm_stops_gracefully_and_releases_the_lease(reconcile_env: ReconcileEnv, tmp_path: Path) -> None:
    reconcile_env.write([ZoneDef(f"a-{reconcile_env.suffix}", "zone-a")])
    identity = f"replica-{uuid.uuid4().hex[:6]}"
    region = f"r{uuid.uuid4().hex[:6]}"  # the Lease is named after the region: one of this test's own
    fleet = (reconcile_env.root / "fleet" / "fleet.yaml").read_text().replace("name: eu-west", f"name: {region}", 1)
    (reconcile_env.root / "fleet" / "fleet.yaml").write_text(fleet)
    zone_file = next((reconcile_env.root / "zones" / "eu-west").glob("*.yaml"))
    (reconcile_env.root / "zones" / region).mkdir()
    zone_file.rename(reconcile_env.root / "zones" / region / zone_file.name)
    text = (
        (reconcile_env.root / "zones" / region / zone_file.name)
        .read_text()
        .replace("region: eu-west", f"region: {region}")
    )
    (reconcile_env.root / "zones" / region / zone_file.name).write_text(text)
    sha = commit_all(reconcile_env.root, "fleet in a region of its own")

    command = [
        sys.executable,
        "-c",
        "from reconciler.cli.main import main; main()",
        "reconcile",
        "--region",
        region,
        "--repo",
        str(reconcile_env.root),
        "--interval",
        "1s",
        "--namespace",
        reconcile_env.namespace,
        "--kubeconfig",
        str(reconcile_env.kubeconfig),
        "--lease-context",
        "zone-a",
        "--identity",
        identity,
        "--metrics-port",
        "0",
        "--cache-dir",
        str(tmp_path / "cache"),
        "--health-timeout",
        "30",
    ]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    logs: list[dict[str, object]] = []
    reconciled = threading.Event()

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            logs.append(entry)
            if entry.get("message") == "zone reconciled":
                reconciled.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert reconciled.wait(120), f"no zone reconciled; logs: {logs[-5:]}"
        entry = next(e for e in logs if e.get("message") == "zone reconciled")
        assert entry["status"] == "Synced"
        assert entry["revision"] == sha
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        reader.join(timeout=10)
        if process.stderr is not None:
            process.stderr.close()
    client = ZoneClient.connect("lease", "zone-a", reconcile_env.kubeconfig)
    lease = client.get("coordination.k8s.io/v1", "Lease", "kube-system", f"edgeops-reconciler-{region}")
    assert lease is not None
    assert lease["spec"].get("holderIdentity", "") == ""
    client.delete("coordination.k8s.io/v1", "Lease", "kube-system", f"edgeops-reconciler-{region}")
