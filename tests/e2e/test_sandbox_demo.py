"""`edgeops sandbox demo` end to end on one zone (ams-01) of the template's eu-west region, as a user runs it:
the demo starts the region itself (`up`'s code), a person's pull request starts the fraud-scoring 1.1.0 canary
under the sandbox's demo policy, the bot plans it, the canary controller steps and promotes it through pull
requests it merges, then the deliberately slow 1.2.0-slow is rolled back by the controller; the demo exits 0 only
if every step happened and no record was lost (records still queued for a canary when it ends, as the slow one
lags behind at its rollback, are drained by its runtime before its consumer and workload go: docs/nats.md).

Every part is real (local control plane and node agent, NATS, registry, Prometheus, forge, bot, reconciler,
canary controller). The test then checks the end state from the parts themselves: the forge holds the person's
two pull requests and the controller's step, promotion and rollback pull requests, all merged; main runs 1.1.0
with no canary; the zone's apiserver has no canary workload.

Measured on the shared 2-core development box (load 7-9 from other test runs): 8 min 9 s for the whole test
(region start with its model builds about 3 min, the demo about 4.5 min, `down`), of which most is the demo
policy's 30 s windows (five failed ones before the slow version's rollback) and the controller's 10 s passes.
Generous per-step timeouts; no wall-clock asserts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from reconciler.app.desired import load_desired
from reconciler.sandbox.localkube import KubeBinaries
from reconciler.sandbox.region import Layout
from reconciler.sandbox.region.parts import Region

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ZONE = "ams-01"


def _edgeops(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reconciler.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "200"},
        check=False,
    )


def _pulls(region: Region) -> list[dict[str, Any]]:
    return region.forge.pulls()


def _labels(pull: dict[str, Any]) -> set[str]:
    return {label["name"] for label in pull["labels"]}


@pytest.mark.timeout(2400)
def test_the_demo_runs_a_canary_to_promotion_and_a_slow_version_to_rollback(
    kube_binaries: KubeBinaries, template_fleet: Path, tmp_path: Path
) -> None:
    layout = Layout((tmp_path / "state").resolve())
    state = ["--state-dir", str(layout.root)]
    try:
        demo = _edgeops(
            "sandbox", "demo", str(template_fleet), "--zone", ZONE, *state, "--step-timeout", "420", timeout=2100
        )
        assert demo.returncode == 0, demo.stdout[-20000:] + demo.stderr[-5000:]
        assert "every step happened" in demo.stdout

        region = Region.of(layout)
        pulls = _pulls(region)
        people = [p for p in pulls if p["user"]["login"] == "platform-engineer"]
        controller = [p for p in pulls if p["user"]["login"] == "edgeops-bot"]
        assert [p["title"] for p in people] == [
            f"Start the fraud-scoring 1.1.0 canary in {ZONE}",
            f"Start the fraud-scoring 1.2.0-slow canary in {ZONE}",
        ]
        assert all(p["merged"] for p in pulls), [(p["number"], p["title"], p["merged"]) for p in pulls]
        kinds = [sorted(_labels(p) & {"canary:step", "canary:promote", "canary:rollback"}) for p in controller]
        # The demo policy's steps 50 → 75 → 100, the promotion, then the slow version's rollback.
        assert kinds == [["canary:step"], ["canary:step"], ["canary:promote"], ["canary:rollback"]], kinds
        for pull in controller:
            assert pull["merged_by"]["login"] == "edgeops-bot"
            comments = region.forge.comments(int(pull["number"]))
            assert any("<!-- edgeops:canary:evidence" in c["body"] for c in comments), pull["title"]
        rollback = controller[-1]
        assert "p95" in rollback["body"], rollback["body"]

        spec = load_desired(region.remote, "main").spec
        assert spec is not None
        zone = spec.zone(ZONE)
        assert zone is not None
        (assignment,) = [a for a in zone.spec.models if a.model == "fraud-scoring"]
        assert (assignment.version, assignment.canary) == ("1.1.0", None)
        assert region.workload(ZONE, "fraud-scoring-canary") is None
        stable = region.workload(ZONE, "fraud-scoring")
        assert stable is not None
        assert stable.converged
        assert stable.version == "1.1.0"

        manifest = json.loads(layout.manifest.read_text())
        with urllib.request.urlopen(manifest["page"]["url"], timeout=30) as reply:
            assert ZONE in reply.read().decode()
    finally:
        down = _edgeops("sandbox", "down", *state, timeout=300)
    assert down.returncode == 0, down.stdout + down.stderr
    assert not layout.root.exists()
