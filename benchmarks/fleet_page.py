"""Server time of the fleet page for the 6-zone template (both regions).

    python benchmarks/fleet_page.py [--repeat 5]

Three measurements, each the median of `--repeat` runs (spread: min–max):

- baseline: loading the template from its git commit (`load_desired(repo, "HEAD")`), the floor every request pays;
- render: rows for every zone from in-memory readings (each zone Synced, two models, served digests, pull state)
  plus one canary panel per canary with 60-point p95 and error-rate series, then `render_page` (no I/O);
- request: one GET of `/` from `start_fleet_page` over the template at HEAD, zones without a kubeconfig context
  (no network: each zone is read as Unreachable at once), no Prometheus, no forge — the server's own work.

Target: request under 200 ms. Writes benchmarks/results/fleet-page.md.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

_REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(_REPO))

from benchmarks.machine import machine  # noqa: E402
from reconciler.app.desired import load_desired  # noqa: E402
from reconciler.app.fleetview import PageSources, StatusOptions, start_fleet_page  # noqa: E402
from reconciler.core.fleetview import (  # noqa: E402
    CanaryPanel,
    FleetPage,
    Point,
    PullReading,
    RegionTable,
    Served,
    ZoneReading,
    render_page,
    zone_rows,
)

_RESULT = _REPO / "benchmarks" / "results" / "fleet-page.md"
TARGET_MS = 200.0


def _template_repo(into: Path) -> Path:
    for part in ("fleet", "models", "zones"):
        shutil.copytree(_REPO / part, into / part)
    for args in (("init", "-q", "-b", "main"), ("add", "-A"), ("commit", "-qm", "template")):
        subprocess.run(
            ["git", "-c", "user.name=b", "-c", "user.email=b@example.org", "-C", str(into), *args], check=True
        )
    return into


def _render(repo: Path, now: datetime) -> str:
    load = load_desired(repo, "HEAD")
    spec = load.spec
    assert spec is not None
    tables, panels = [], []
    for region in spec.fleet.spec.regions:
        readings = {}
        for zone in spec.zones_in(region.name):
            served = {(a.model, "stable"): Served(a.version, "sha256:" + "a" * 64) for a in zone.spec.models}
            pulls = {a.model: PullReading(0.0, now) for a in zone.spec.models}
            readings[zone.name] = ZoneReading(
                zone.name, revision=load.revision, status="Synced", recorded_at=now, served=served, pulls=pulls
            )
        rows = zone_rows(
            spec, region.name, head=load.revision, readings=readings, now=now, stale_after=timedelta(minutes=10)
        )
        tables.append(RegionTable(region.name, rows))
        for zone in spec.zones_in(region.name):
            for a in zone.spec.models:
                if a.canary is not None:
                    points = tuple(Point(now - timedelta(minutes=60 - i), 20.0 + i % 7, 15.0) for i in range(60))
                    panels.append(
                        CanaryPanel(
                            region.name, zone.name, a.model, a.canary.version, "live", 10, points, points, 30, 1
                        )
                    )
    return render_page(FleetPage(now, tables, panels))


def _time(fn: Callable[[], object], repeat: int) -> list[float]:
    fn()  # warm: imports, caches
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - started) * 1000)
    return runs


def _line(name: str, runs: list[float], baseline: float) -> str:
    median = statistics.median(runs)
    return f"| {name} | {median:.1f} ms | {min(runs):.1f}–{max(runs):.1f} ms | {median / baseline:.2f} |"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repo = _template_repo(Path(tmp) / "fleet")
        now = datetime.now(UTC)
        empty_kubeconfig = Path(tmp) / "kubeconfig"
        empty_kubeconfig.write_text("apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n")
        sources = PageSources(repo=repo, rev="HEAD", status=StatusOptions(kubeconfig=empty_kubeconfig))
        server, url = start_fleet_page(sources)
        try:

            def request() -> None:
                with urllib.request.urlopen(url, timeout=10) as reply:
                    assert reply.status == 200
                    reply.read()

            baseline = _time(lambda: load_desired(repo, "HEAD"), args.repeat)
            render = _time(lambda: _render(repo, now), args.repeat)
            served = _time(request, args.repeat)
        finally:
            server.shutdown()
            server.server_close()
        size = len(_render(repo, now))
    base = statistics.median(baseline)
    verdict = statistics.median(served)
    lines = [
        "# Fleet page: server time for the 6-zone template",
        "",
        f"Machine: {machine(with_load=True)}",
        "",
        f"Median of {args.repeat} runs after one warm-up; spread is min–max. Ratio: against the baseline (loading",
        "the template from its commit, which every request does) in the same run. The rendered page is",
        f"{size / 1024:.0f} KiB (6 zones in 2 regions, every canary with two 60-point SVG charts).",
        "",
        "| measurement | median | spread | ratio to baseline |",
        "|---|---|---|---|",
        _line("baseline: load the template at HEAD", baseline, base),
        _line("render: rows + canary charts + HTML (in memory)", render, base),
        _line("request: GET / (load, read 6 zones, render)", served, base),
        "",
        f"GET / takes {verdict:.0f} ms: {'meets' if verdict < TARGET_MS else 'misses'} the {TARGET_MS:.0f} ms target.",
        "",
    ]
    _RESULT.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
