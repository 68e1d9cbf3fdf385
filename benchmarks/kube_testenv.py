"""Start time and resident memory of local zone clusters (reconciler.sandbox.localkube).

    python benchmarks/kube_testenv.py [--zones 3] [--settle 15] [--build]

Baseline: one zone started alone on an idle machine. Then `--zones` zones started together (at most two at a
time, as the test fixture does), each zone's start time and the ratio of the whole start to the baseline.
Resident memory per zone is the sum of VmRSS of its kine, apiserver, controller-manager and scheduler after
`--settle` seconds idle. `--build` also times `install-kube.sh` with everything cached (stamp hit) and
`install-kube.sh --force` (a rebuild from Go's warm build cache). The cold build time cannot be rerun cheaply;
the figure in the report is the one measured when the caches were first filled (pass it with --cold-build).
Writes benchmarks/results/kube-testenv.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(_REPO))

from benchmarks.machine import machine  # noqa: E402
from reconciler.sandbox.localkube import LocalKube, LocalZone  # noqa: E402

_RESULT = _REPO / "benchmarks" / "results" / "kube-testenv.md"


def cache_sizes() -> list[str]:
    """Disk used by the build's caches, as `du` reports it."""
    cache = Path(os.environ.get("EDGEOPS_CACHE", Path.home() / ".cache" / "edgeops"))
    rows = []
    for part, what in (("go/mod", "Go module cache"), ("go/build", "Go build cache"), ("bin", "binaries")):
        if (cache / part).exists():
            du = subprocess.run(["du", "-sh", str(cache / part)], capture_output=True, text=True, check=False)
            rows.append(f"| {what} (`$EDGEOPS_CACHE/{part}`) | {du.stdout.split()[0] if du.stdout else '?'} |")
    return rows


def rss_mib(pid: int | None) -> float:
    if pid is None:
        return 0.0
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return 0.0
    return next((int(line.split()[1]) / 1024 for line in status.splitlines() if line.startswith("VmRSS:")), 0.0)


def zone_memory(zone: LocalZone) -> dict[str, float]:
    return {name.split("/", 1)[1]: rss_mib(p.pid) for name, p in zone.processes.items()}


def timed_start(env: LocalKube, names: list[str]) -> tuple[float, dict[str, float]]:
    """Whole start time, and each zone's own start time (from its first process to ready)."""
    started = time.monotonic()
    zones = env.start_zones(names)
    return time.monotonic() - started, {zone.name: zone.last_start_s or 0.0 for zone in zones}


def time_script(*args: str) -> float:
    began = time.monotonic()
    subprocess.run(
        ["bash", str(_REPO / "tests" / "env" / "install-kube.sh"), *args], check=True, stdout=subprocess.DEVNULL
    )
    return time.monotonic() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--zones", type=int, default=3)
    parser.add_argument("--settle", type=float, default=15.0)
    parser.add_argument("--build", action="store_true")
    parser.add_argument("--cold-build", default="not measured in this run")
    args = parser.parse_args()

    lines = ["# Local Kubernetes zones: build, start time, memory", "", f"Machine: {machine(with_load=True)}", ""]
    if args.build:
        stamp_hit = time_script()
        rebuild = time_script("--force")
        lines += [
            "## Build",
            "",
            "| build | seconds |",
            "|---|---|",
            f"| cold (empty module and build caches) | {args.cold_build} |",
            f"| cached rebuild (`install-kube.sh --force`, warm Go caches) | {rebuild:.1f} |",
            f"| up to date (`install-kube.sh`, stamp hit) | {stamp_hit:.2f} |",
            "",
            "| cache | disk |",
            "|---|---|",
            *cache_sizes(),
            "",
        ]

    with tempfile.TemporaryDirectory(prefix="kube-bench-") as tmp:
        with LocalKube(Path(tmp) / "baseline") as env:
            baseline, _ = timed_start(env, ["baseline"])
            time.sleep(args.settle)
            baseline_memory = zone_memory(env.zone("baseline"))
        names = [f"zone-{i}" for i in range(args.zones)]
        with LocalKube(Path(tmp) / "many") as env:
            together, per_zone = timed_start(env, names)
            time.sleep(args.settle)
            memory = {name: zone_memory(env.zone(name)) for name in names}

    components = list(baseline_memory)
    lines += [
        "## Start",
        "",
        f"Baseline: one zone alone starts (kine, apiserver /readyz, CRDs, RBAC, controllers working) in "
        f"{baseline:.1f} s.",
        "",
        f"{args.zones} zones started together (2 at a time): {together:.1f} s in all, "
        f"{together / baseline:.2f}x the baseline.",
        "",
        "| zone | start s | " + " | ".join(f"{c} MiB" for c in components) + " | total MiB |",
        "|---|---|" + "---|" * (len(components) + 1),
    ]
    rows = [("baseline (alone)", baseline, baseline_memory)] + [(n, per_zone[n], memory[n]) for n in names]
    for name, seconds, mem in rows:
        lines.append(
            f"| {name} | {seconds:.1f} | "
            + " | ".join(f"{mem.get(c, 0):.0f}" for c in components)
            + f" | {sum(mem.values()):.0f} |"
        )
    mean_total = sum(sum(m.values()) for m in memory.values()) / len(memory)
    lines += [
        "",
        f"Resident memory per zone after {args.settle:.0f} s idle: {mean_total:.0f} MiB on average "
        f"({mean_total / sum(baseline_memory.values()):.2f}x the lone zone).",
        "",
    ]
    _RESULT.parent.mkdir(parents=True, exist_ok=True)
    _RESULT.write_text("\n".join(lines))
    print("\n".join(lines))
    print(f"written {_RESULT.relative_to(_REPO)}")


if __name__ == "__main__":
    main()
