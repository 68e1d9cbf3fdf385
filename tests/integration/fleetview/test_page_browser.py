"""The fleet page in a real headless Chromium: served by `start_fleet_page` over live zones (real kube-apiservers,
after a pass), a real Prometheus scraping runtime-shaped series and a local GitHub, the page loads, its table shows
the region's zones with the status the pass left, the canary panel charts canary and stable, the open edgeops pull
request is linked, and a merged rollback appears in the list of last rollbacks. The
screenshot is written to $EDGEOPS_SCREENSHOTS (docs/images/ is made from it) when that is set."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest

from reconciler.app.desired import load_desired
from reconciler.app.fleetview import PageSources, StatusOptions, start_fleet_page
from reconciler.app.reconcile import run_once
from reconciler.shells.forge import Forge
from tests.fixtures.fleet_repo import ModelDef, ReconcileEnv, ZoneDef
from tests.fixtures.github import BOT_TOKEN, NAME, OWNER, GitHubRemote
from tests.fixtures.prometheus import Exporter, PrometheusServer
from tests.integration.fleetview.test_status import _commit

pytestmark = pytest.mark.integration


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed (tests/env/apt-packages.txt)")
        pytest.skip("chromium is not installed")
    return found


def _browse(chromium: str, url: str, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",  # root in containers; the page is ours and has no script
            "--disable-gpu",
            "--no-first-run",
            f"--user-data-dir={tmp}",
            "--window-size=1280,1020",
            *args,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=True,
    )


class _Rows(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.zones: list[str] = []
        self.in_rollbacks = False
        self.rollbacks: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "tr" and a.get("data-zone"):
            self.zones.append(a["data-zone"] or "")
        if tag == "ul":
            self.in_rollbacks = a.get("class") == "rollbacks"
        if tag == "a" and a.get("href"):
            self.links.append(a["href"] or "")

    def handle_data(self, data: str) -> None:
        if self.in_rollbacks and data.strip():
            self.rollbacks.append(data.strip())


def test_the_page_in_chromium(
    reconcile_env: ReconcileEnv,
    github_remote: GitHubRemote,
    prometheus_with_exporter: tuple[PrometheusServer, Exporter],
    tmp_path: Path,
) -> None:
    chromium = _chromium()
    prometheus, exporter = prometheus_with_exporter
    base = {"zone": "ams-01", "model": "fraud-scoring"}
    exporter.set_profile(
        [
            {**base, "version": "1.0.0", "track": "stable", "rate": 200, "p95Ms": 12.0, "errorRatio": 0.002},
            {**base, "version": "1.1.0", "track": "canary", "rate": 50, "p95Ms": 26.0, "errorRatio": 0.02},
        ]
    )
    zones = [
        ZoneDef("ams-01", "zone-a", models=(ModelDef("fraud-scoring", replicas=0, canary="1.1.0"),)),
        ZoneDef("fra-02", "zone-b"),
        ZoneDef("lis-03", "zone-c"),
    ]
    reconcile_env.write(zones)
    _commit(reconcile_env)
    load = load_desired(reconcile_env.root, "HEAD")
    run_once(load, reconcile_env.region, reconcile_env.options())

    forge = Forge(OWNER, NAME, url=github_remote.url, token=BOT_TOKEN)
    github_remote.human_push("canary/rollback", {"notes.txt": "rollback\n"}, "roll back")
    rollback, _ = forge.open_or_update_pull(
        branch="canary/rollback",
        base="main",
        title="canary: roll back fraud-scoring 1.1.0 in ams-01 <b>",
        body="p95 over the SLO",
        labels=("edgeops", "canary", "canary:rollback"),
    )
    forge.merge(rollback.number, sha=rollback.head_sha, message="roll back")
    github_remote.human_push("canary/step", {"step.txt": "step\n"}, "step")
    step, _ = forge.open_or_update_pull(
        branch="canary/step", base="main", title="canary: step", body="", labels=("edgeops", "canary")
    )

    prometheus.wait_for_value(
        'sum(increase(edgeops_requests_total{zone="ams-01",track="canary"}[5s]))', lambda v: v > 0, "canary traffic"
    )
    status = StatusOptions(
        kubeconfig=reconcile_env.kubeconfig, namespace=reconcile_env.namespace, prometheus=prometheus.url
    )
    sources = PageSources(
        repo=reconcile_env.root,
        rev="HEAD",
        status=status,
        forge=forge,
        chart_span=timedelta(seconds=20),
        chart_step=timedelta(seconds=1),
        chart_window=timedelta(seconds=3),
    )
    server, url = start_fleet_page(sources)
    try:
        dom = _browse(chromium, url, tmp_path / "profile", "--dump-dom").stdout
        shot = tmp_path / "fleet-page.png"
        _browse(chromium, url, tmp_path / "profile", f"--screenshot={shot}")
    finally:
        server.shutdown()
        server.server_close()

    page = _Rows()
    page.feed(dom)
    assert page.zones == ["ams-01", "fra-02", "lis-03"]
    assert "Synced" in dom
    assert f"#{step.number} canary: step" in dom
    assert step.url in page.links
    assert any("roll back fraud-scoring 1.1.0 in ams-01 <b>" in text for text in page.rollbacks)  # shown as text
    canary_paths = re.findall(r'class="canary" d="([^"]*)"', dom)
    assert canary_paths
    assert any("L" in d for d in canary_paths)  # a line drawn from Prometheus's points
    assert shot.stat().st_size > 10_000
    if os.environ.get("EDGEOPS_SCREENSHOTS"):
        stamp = datetime.now(UTC).strftime("%H%M%S")
        target = Path(os.environ["EDGEOPS_SCREENSHOTS"])
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, target / "fleet-page.png")
        (target / "fleet-page.taken").write_text(stamp)
