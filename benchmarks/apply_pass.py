"""Apply passes against 3 real local zones, with `kubectl apply --server-side` of the same manifests as baseline.

    python benchmarks/apply_pass.py [--repeat 3]

Three zones (reconciler.sandbox.localkube), each with both template models (replicas 0, so health is
judged as soon as the deployment controller has observed them). Measured, median of `--repeat`:

- edgeops no-change pass: `run_once` over the 3 zones (read live, dry-run, compare, inventory, health; no writes)
- edgeops one-model-change pass: one model's replicas changed in one zone (one configure + health)
- kubectl: `kubectl apply --server-side -f DIR` of the same rendered manifests (into a namespace of its own),
  the 3 zones in parallel as edgeops does; first run creates, the timed runs are no-change applies.

Writes benchmarks/results/apply-pass.md.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(_REPO))

from benchmarks.machine import machine  # noqa: E402
from reconciler.app.desired import load_desired  # noqa: E402
from reconciler.app.reconcile import ApplyOptions, RegionOptions, render_desired, run_once  # noqa: E402
from reconciler.core.plan import ZoneStatus  # noqa: E402
from reconciler.core.render import RenderOptions  # noqa: E402
from reconciler.sandbox.localkube import LocalKube, find_binaries  # noqa: E402
from tests.fixtures.fleet_repo import ModelDef, ZoneDef, write_fleet  # noqa: E402

_RESULT = _REPO / "benchmarks" / "results" / "apply-pass.md"
ZONES = ("bench-a", "bench-b", "bench-c")


def zones(changed: bool = False) -> list[ZoneDef]:
    """Both models in every zone; `changed` scales the first model of the first zone to 1."""
    defs = []
    for zone in ZONES:
        first = 1 if changed and zone == ZONES[0] else 0
        models = (ModelDef("sensor-anomaly", replicas=first), ModelDef("fraud-scoring"))
        defs.append(ZoneDef(zone.replace("bench", "z"), zone, models))
    return defs


def timed(fn: object) -> float:
    start = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - start


def kubectl_apply(kubeconfig: Path, dirs: dict[str, Path]) -> float:
    start = time.perf_counter()
    procs = [
        subprocess.Popen(
            [
                "kubectl",
                f"--kubeconfig={kubeconfig}",
                f"--context={context}",
                "apply",
                "--server-side",
                "--field-manager=kubectl-bench",
                "-f",
                str(folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for context, folder in dirs.items()
    ]
    for proc in procs:
        _, err = proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f"kubectl failed: {err.decode()}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="edgeops-bench-"))
    with LocalKube(work / "kube", binaries=find_binaries()) as kube:
        kube.start_zones(list(ZONES))
        root = work / "fleet"
        write_fleet(root, "eu-west", zones())
        load = load_desired(root)
        options = RegionOptions(
            kubeconfig=kube.kubeconfig,
            render=RenderOptions(namespace="edgeops"),
            apply=ApplyOptions(health_timeout_s=60, poll_s=0.2),
        )
        first = timed(lambda: run_once(load, "eu-west", options))
        objects = sum(len(z.manifests) for z in render_desired(load, "eu-west", options.render))
        results = run_once(load, "eu-west", options)
        assert all(r.status is ZoneStatus.SYNCED and r.applied == 0 for r in results), [r.line() for r in results]
        no_change = [timed(lambda: run_once(load, "eu-west", options)) for _ in range(args.repeat)]

        change = []
        for i in range(args.repeat):
            # alternate between the two states so every timed pass changes exactly one model in one zone
            write_fleet(root, "eu-west", zones(changed=i % 2 == 0))
            changed = load_desired(root)
            opts = RegionOptions(options.kubeconfig, options.render, ApplyOptions(health_timeout_s=0, poll_s=0.2))
            change.append(timed(lambda changed=changed, opts=opts: run_once(changed, "eu-west", opts)))

        # kubectl: the same manifests, rendered into a namespace of its own so the two managers never meet.
        kube_render = render_desired(load, "eu-west", RenderOptions(namespace="kubectl-bench"))
        dirs: dict[str, Path] = {}
        for rendered, context in zip(kube_render, ZONES, strict=True):
            folder = work / "manifests" / context
            folder.mkdir(parents=True)
            for n, manifest in enumerate(rendered, start=1):
                (folder / f"{n:03d}.yaml").write_text(manifest.to_yaml())
            dirs[context] = folder
        kubectl_first = kubectl_apply(kube.kubeconfig, dirs)
        kubectl_runs = [kubectl_apply(kube.kubeconfig, dirs) for _ in range(args.repeat)]

    base = statistics.median(kubectl_runs)
    rows = [
        ("kubectl apply --server-side, no change (baseline)", base),
        ("kubectl apply --server-side, first apply (creates)", kubectl_first),
        ("edgeops first pass (creates, waits for health)", first),
        ("edgeops no-change pass", statistics.median(no_change)),
        ("edgeops one-model-change pass (no health wait)", statistics.median(change)),
    ]
    lines = [
        "# Apply pass: 3 real local zones, edgeops vs kubectl apply --server-side",
        "",
        f"Machine: {machine(with_load=True)}",
        "",
        f"3 zones (kube-apiserver + kine + controllers on loopback), {objects // 3} objects per zone; median of "
        f"{args.repeat}. Both tools apply the same rendered manifests, the 3 zones in parallel. kubectl sends one",
        "PATCH per object; an edgeops pass reads each object, dry-runs the apply server-side to detect drift, writes",
        "only what differs, reads the inventory and checks Deployment health.",
        "",
        "| pass | time | ratio to baseline |",
        "|---|---|---|",
    ]
    for name, value in rows:
        lines.append(f"| {name} | {value * 1000:.0f} ms | {value / base:.2f} |")
        print(f"{name}: {value * 1000:.0f} ms ({value / base:.2f}x)")
    lines.append("")
    _RESULT.parent.mkdir(parents=True, exist_ok=True)
    _RESULT.write_text("\n".join(lines))
    print(f"written {_RESULT.relative_to(_REPO)}")


if __name__ == "__main__":
    main()
