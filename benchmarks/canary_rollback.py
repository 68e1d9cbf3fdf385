"""Time from the first failing canary analysis to the rollback applied in the zone (canary Deployment gone), with
the region loop waiting for its next poll, and with the loop nudged over NATS after the merge.

    python benchmarks/canary_rollback.py [--trials 5] [--modes poll,nudge] [--reconcile-interval 30s]
                                         [--analysis-interval 10]

Real components on loopback: a zone cluster (kube-apiserver + controller-manager, reconciler.sandbox.localkube), Prometheus
scraping an exporter process whose canary track is slow (p95 95 ms against the 30 ms SLO), the local GitHub
(OpenAPI-validated) with a bare git remote, and the region loop as users run it (`edgeops reconcile`, a
separate process, at the fleet's interval, listening for nudges on a real nats-server as the region hub). The
canary controller runs here on the default policy (standard: failure limit 1) with a 10 s analysis interval; each
trial starts its analyses at a random phase of the reconcile loop's cycle (uniform over one interval). Modes, with
`--trials` trials each, interleaved (poll, nudge, poll, ...) so both see the same machine load:

    poll    after the merge, nothing: the loop applies the rollback at its next interval
    nudge   after the merge, the controller's nudge (`nudge_merged`, as `edgeops canary run --nudge-nats` does)

Measured per trial: t0 = start of the first analysis whose verdict is rollback; merged = the rollback PR merged
on main; applied = the canary Deployment no longer exists in the zone (polled every 100 ms).
Baseline, same run: applying the rollback revision directly (one `run_once` pass, no analysis, git or PR) — the
floor any controller pays to change the cluster. Writes benchmarks/results/canary-rollback.md.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

_REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(_REPO))

from benchmarks.machine import machine  # noqa: E402
from reconciler.app.canary import AnalyzeOptions, analyze_region  # noqa: E402
from reconciler.app.desired import load_desired  # noqa: E402
from reconciler.app.gitops import Bot, nudge_merged, propose, publish_nudge  # noqa: E402
from reconciler.app.reconcile import run_once  # noqa: E402
from reconciler.app.reconcile.region import RegionOptions  # noqa: E402
from reconciler.core.canary import Decision  # noqa: E402
from reconciler.core.nats import Nudge, NudgeSource  # noqa: E402
from reconciler.core.render import RenderOptions  # noqa: E402
from reconciler.sandbox import ServerProcess, free_port  # noqa: E402
from reconciler.sandbox.forge.openapi import OpenApi  # noqa: E402
from reconciler.sandbox.forge.server import GitHubHttpServer  # noqa: E402
from reconciler.sandbox.forge.state import FakeGitHub  # noqa: E402
from reconciler.sandbox.localkube import BinariesMissing, LocalKube  # noqa: E402
from reconciler.shells.forge import Forge  # noqa: E402
from reconciler.shells.git import Workspace  # noqa: E402
from reconciler.shells.kube import ZoneClient  # noqa: E402
from reconciler.shells.nats import NatsEndpoint  # noqa: E402
from reconciler.shells.prometheus import Prometheus  # noqa: E402
from tests.fixtures.fleet_repo import ModelDef, ZoneDef, write_fleet  # noqa: E402
from tests.fixtures.github import BOT_TOKEN, NAME, OWNER, GitHubRemote, seed_bare  # noqa: E402
from tests.fixtures.nats import NatsServer  # noqa: E402
from tests.fixtures.prometheus import EXPORTER, wait_for  # noqa: E402

REGION, ZONE, CONTEXT, NAMESPACE = "eu-west", "ams-bench", "bench-a", "edgeops-bench"
ZONE_FILE = f"zones/{REGION}/{ZONE}.yaml"
MODES = ("poll", "nudge")


class Processes:
    """The benchmark's servers, each in its own process group, killed at the end."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.started: list[ServerProcess] = []

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> ServerProcess:
        proc = ServerProcess(name, argv, self.workdir / f"{name}.log", env=env).start()
        self.started.append(proc)
        return proc

    def close(self) -> None:
        for proc in reversed(self.started):
            proc.stop(signal.SIGKILL, timeout_s=30)


def canaries(client: ZoneClient) -> set[str]:
    return {
        d["metadata"]["name"]
        for d in client.list("apps/v1", "Deployment", NAMESPACE)
        if "canary" in d["metadata"]["name"]
    }


def trial(
    bot: Bot,
    prom: Prometheus,
    client: ZoneClient,
    analysis_interval: timedelta,
    phase: float,
    *,
    nudge: NatsEndpoint | None,
) -> dict[str, float]:
    options = AnalyzeOptions(window=analysis_interval, respect_maintenance_windows=False)
    # The canary failing at a random moment of the region loop's cycle (the trial starts right after a pass).
    time.sleep(phase)
    while True:
        started = time.monotonic()
        bot.workspace.fetch()
        load = load_desired(Path(bot.workspace.repo.path), "origin/main")
        assert load.spec is not None, load.problems
        (analysis,) = analyze_region(load.spec, REGION, prom, datetime.now(UTC), options)
        if analysis.verdict.decision is Decision.ROLLBACK:
            break
        time.sleep(max(0.0, analysis_interval.total_seconds() - (time.monotonic() - started)))
    proposal = propose(bot, load.spec, analysis.group, analysis.verdict)
    assert proposal.merged, proposal
    merged = time.monotonic()
    if nudge is not None:
        nudged = nudge_merged(nudge, REGION, proposal)
        assert nudged.startswith("nudged"), nudged
    while canaries(client):
        time.sleep(0.1)
    applied = time.monotonic()
    return {"total": applied - started, "to_merge": merged - started, "merge_to_applied": applied - merged}


def main() -> None:  # noqa: PLR0915 (one linear scenario reads best top to bottom)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=5, help="trials per mode")
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated: poll, nudge")
    parser.add_argument("--reconcile-interval", default="30s")
    parser.add_argument("--analysis-interval", type=float, default=10.0, help="seconds")
    args = parser.parse_args()
    reconcile_s = float(args.reconcile_interval.rstrip("s"))
    modes = [m for m in args.modes.split(",") if m]
    if not modes or set(modes) - set(MODES):
        sys.exit(f"--modes: choose from {', '.join(MODES)}")
    workdir = Path(tempfile.mkdtemp(prefix="edgeops-bench-canary-"))
    procs = Processes(workdir)
    try:
        kube = LocalKube(workdir / "kube")
    except BinariesMissing as error:
        sys.exit(f"cannot run: {error}")
    github = None
    hub_server = NatsServer(workdir / "hub")  # the region hub the reconciler listens on for nudges
    try:
        kube.start_zones([CONTEXT])
        hub_server.start()
        hub = NatsEndpoint(hub_server.url)
        fleet = write_fleet(
            workdir / "fleet", REGION, [ZoneDef(ZONE, CONTEXT, (ModelDef("fraud-scoring", "1.0.0", 0, "1.1.0"),))]
        )
        with_canary = (fleet / ZONE_FILE).read_text()
        bare = workdir / "remote.git"
        seed_bare(bare, fleet)
        fake = FakeGitHub(owner=OWNER, name=NAME, git_dir=bare)
        fake.users.update({"edgeops-bot": "write", "alice": "admin"})
        fake.tokens.update({BOT_TOKEN: "edgeops-bot"})
        github = GitHubHttpServer(fake, OpenApi.load())
        threading.Thread(target=github.serve_forever, daemon=True).start()
        remote = GitHubRemote(bare, fake, fake.base_url)

        exporter_port, prom_port = free_port(), free_port()
        procs.start("exporter", [sys.executable, str(EXPORTER), str(exporter_port)])
        wait_for(
            lambda: urllib.request.urlopen(f"http://127.0.0.1:{exporter_port}/healthz", timeout=2).status == 200,
            "exporter",
        )
        config = {
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
            "scrape_configs": [{"job_name": "edge", "static_configs": [{"targets": [f"127.0.0.1:{exporter_port}"]}]}],
        }
        (workdir / "prometheus.yml").write_text(json.dumps(config))
        prometheus = shutil.which("prometheus") or sys.exit("prometheus is not installed")
        procs.start(
            "prometheus",
            [
                prometheus,
                f"--config.file={workdir / 'prometheus.yml'}",
                f"--storage.tsdb.path={workdir / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{prom_port}",
            ],
        )
        base = {"zone": ZONE, "model": "fraud-scoring"}
        profile = [
            {**base, "version": "1.0.0", "track": "stable", "rate": 200, "p95Ms": 10.0, "errorRatio": 0},
            {**base, "version": "1.1.0", "track": "canary", "rate": 200, "p95Ms": 95.0, "errorRatio": 0},
        ]
        request = urllib.request.Request(
            f"http://127.0.0.1:{exporter_port}/profile", data=json.dumps(profile).encode(), method="PUT"
        )
        urllib.request.urlopen(request, timeout=10).close()
        query = urllib.parse.quote(f'sum(increase(edgeops_requests_total{{zone="{ZONE}",track="canary"}}[10s]))')

        def data_ready() -> bool:
            with urllib.request.urlopen(f"http://127.0.0.1:{prom_port}/api/v1/query?query={query}", timeout=5) as r:
                result = json.load(r)["data"]["result"]
            return bool(result) and float(result[0]["value"][1]) > 1500

        wait_for(data_ready, "a full 10 s window of canary traffic in Prometheus", timeout=120)

        edgeops = shutil.which("edgeops") or sys.exit("edgeops is not on PATH (source tests/env/common.sh)")
        procs.start(
            "reconcile",
            [
                edgeops,
                "reconcile",
                "--region",
                REGION,
                "--repo",
                str(bare),
                "--interval",
                args.reconcile_interval,
                "--kubeconfig",
                str(kube.kubeconfig),
                "--namespace",
                NAMESPACE,
                "--no-leader-elect",
                "--metrics-port",
                "0",
                "--health-timeout",
                "5",
                "--cache-dir",
                str(workdir / "cache"),
                "--nudge-nats",
                hub_server.url,
            ],
        )
        client = ZoneClient.connect(CONTEXT, CONTEXT, kube.kubeconfig)
        bot = Bot(
            Workspace.open_or_clone(str(bare), workdir / "bot"), Forge(OWNER, NAME, url=remote.url, token=BOT_TOKEN)
        )
        prom = Prometheus(f"http://127.0.0.1:{prom_port}")
        results: dict[str, list[dict[str, float]]] = {mode: [] for mode in modes}
        for number in range(args.trials * len(modes)):
            mode = modes[number % len(modes)]
            if number:
                sha = remote.human_push("main", {ZONE_FILE: with_canary}, "restore the canary for the next trial")
                # Restoring is not measured: nudge it in every mode (the trial then starts right after a pass).
                publish_nudge(hub, Nudge(sha=sha, why="restore", source=NudgeSource.MANUAL), REGION)
            wait_for(
                lambda: bool(canaries(client)), "the reconciler to create the canary Deployment", timeout=180, every=0.2
            )
            phase = random.uniform(0, reconcile_s)
            nudge = hub if mode == "nudge" else None
            done = trial(bot, prom, client, timedelta(seconds=args.analysis_interval), phase, nudge=nudge)
            results[mode].append({**done, "trial": number + 1})
            print(
                f"trial {number + 1} ({mode}): {done['total']:.1f} s "
                f"(analysis + PR + merge {done['to_merge']:.1f} s, reconciler {done['merge_to_applied']:.1f} s)"
            )

        # Baseline: the same rollback revision applied directly, once the canary is back.
        remote.human_push("main", {ZONE_FILE: with_canary}, "restore the canary for the baseline")
        wait_for(lambda: bool(canaries(client)), "the canary for the baseline", timeout=180, every=0.2)
        procs.started[-1].stop(signal.SIGTERM, timeout_s=60)  # stop the loop: the baseline pass must be alone
        rollback_sha = remote.human_push("baseline", {ZONE_FILE: with_canary.split("      canary:")[0]}, "rollback")
        load = load_desired(bare, rollback_sha)
        options = RegionOptions(kubeconfig=kube.kubeconfig, render=RenderOptions(namespace=NAMESPACE))
        started = time.monotonic()
        run_once(load, REGION, options)
        while canaries(client):
            time.sleep(0.1)
        baseline = time.monotonic() - started
        report(results, baseline, args, reconcile_s)
    finally:
        if github is not None:
            github.shutdown()
        procs.close()
        hub_server.stop()
        kube.close()
        shutil.rmtree(workdir, ignore_errors=True)


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} s (min {min(values):.1f}, max {max(values):.1f})"


def report(
    results: dict[str, list[dict[str, float]]], baseline: float, args: argparse.Namespace, reconcile_s: float
) -> None:
    counts = ", ".join(f"{len(r)} {mode}" for mode, r in results.items())
    lines = [
        "# Canary rollback: first failing analysis → rollback applied in the zone, polled vs nudged",
        "",
        f"Machine: {machine(with_load=True)}.",
        f"Run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, `python benchmarks/canary_rollback.py --trials {args.trials} "
        f"--modes {args.modes} --reconcile-interval {args.reconcile_interval} "
        f"--analysis-interval {args.analysis_interval:g}` ({counts} trials, interleaved).",
        "",
        "Default policy (standard: failure limit 1), analysis interval 10 s, region loop (`edgeops reconcile "
        f"--nudge-nats`) at {args.reconcile_interval}; each trial starts its analyses at a random phase of the loop's "
        "cycle. poll: after the merge the loop applies the rollback at its next interval; nudge: the controller "
        "nudges the region over NATS right after the merge (`edgeops canary run --nudge-nats`).",
        "",
        "| trial | mode | first failing analysis → applied | analysis + PR + merge | merged → canary gone |",
        "|---|---|---|---|---|",
    ]
    in_order = sorted(((r["trial"], mode, r) for mode, done in results.items() for r in done), key=lambda t: t[0])
    for number, mode, r in in_order:
        lines.append(
            f"| {number:.0f} | {mode} | {r['total']:.1f} s | {r['to_merge']:.1f} s | {r['merge_to_applied']:.1f} s |"
        )
    lines += ["", "| mode | trials | analysis → applied: median (min, max) | merged → gone: median (min, max) |"]
    lines.append("|---|---|---|---|")
    for mode, done in results.items():
        totals, applied = [r["total"] for r in done], [r["merge_to_applied"] for r in done]
        lines.append(f"| {mode} | {len(done)} | {_spread(totals)} | {_spread(applied)} |")
    lines.append("")
    if set(results) == set(MODES) and all(results.values()):
        medians = {
            mode: (
                statistics.median(r["total"] for r in done),
                statistics.median(r["merge_to_applied"] for r in done),
            )
            for mode, done in results.items()
        }
        total, applied = (medians["nudge"][i] / medians["poll"][i] for i in (0, 1))
        lines += [
            f"Ratio nudge / poll (medians): first failing analysis → applied {total:.3f} ({1 / total:.0f}x faster "
            f"nudged); merged → canary gone {applied:.3f} ({1 / applied:.0f}x faster).",
            "",
        ]
    worst = max(r["total"] for done in results.values() for r in done)
    lines += [
        f"Worst of all trials {worst:.1f} s; target ≤ 60 s: **{'met' if worst <= 60 else 'NOT met'}**.",
        f"Baseline measured in the same run — the rollback revision applied directly (one pass, no analysis, git "
        f"or PR): {baseline:.1f} s.",
        "",
        f"Bound when polled: analysis + PR + merge + at most one reconcile interval ({args.reconcile_interval}) + one "
        f"pass, so ≈ {reconcile_s + 2:.0f} s in the worst case. Nudged: analysis + PR + merge + the nudge (one NATS "
        "message) + fetch + one pass, whatever the interval; polling stays the fallback when the hub is down.",
    ]
    text = "\n".join(lines) + "\n"
    out = _REPO / "benchmarks" / "results" / "canary-rollback.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
