"""Render + plan for synthetic fleets of 10, 50 and 100 zones x 10 models against in-memory live state.

    python benchmarks/render_plan.py [--repeat 3]

Each zone is a copy of the template's ams-01 with ten model assignments (copies of fraud-scoring under ten
names, a live canary on every other one), so ~60 objects per zone. The live state is the rendered objects as the
API server returns them (resourceVersion, uid, managedFields, status added; one Deployment per zone scaled by
hand, so every zone has one `configure` with a diff). Render, then plan (strip + compare + diff) every zone.
Baseline: the 10-zone fleet in the same run; the ratio column shows growth against 10 zones (linear = N/10).
Target: under 2 s for 100 x 10. Writes benchmarks/results/render-plan.md.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from pathlib import Path
from typing import Any

_REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(_REPO))

from benchmarks.machine import machine  # noqa: E402
from reconciler.app.desired import load_desired  # noqa: E402
from reconciler.core.plan import Action, ZonePlan, plan_kubernetes  # noqa: E402
from reconciler.core.render import ObjectRef, RenderedZone, render_zone  # noqa: E402
from reconciler.core.spec import FleetSpec, Zone  # noqa: E402
from reconciler.core.spec.zone import Canary  # noqa: E402

_RESULT = _REPO / "benchmarks" / "results" / "render-plan.md"
MODELS = 10


def synthetic_fleet(zones: int) -> tuple[FleetSpec, list[Zone]]:
    loaded = load_desired(_REPO)
    assert loaded.spec is not None
    spec = loaded.spec
    base_model = spec.models["fraud-scoring"]
    models = {
        f"model-{i}": base_model.model_copy(
            update={"metadata": base_model.metadata.model_copy(update={"name": f"model-{i}"})}
        )
        for i in range(MODELS)
    }
    template = spec.zone("ams-01")
    assert template is not None
    base_assignment = template.spec.models[0]
    built = []
    for z in range(zones):
        name = f"zone-{z:03d}"
        assignments = tuple(
            base_assignment.model_copy(
                update={
                    "model": f"model-{i}",
                    "version": "1.0.0",
                    "input": f"in.{name}.m{i}",
                    "output": f"out.{name}.m{i}",
                    "node_pool": None,
                    "canary": Canary(version="1.1.0", weight=10, phase="live", started_at="2026-11-27T09:00:00Z")  # type: ignore[arg-type]
                    if i % 2 == 0
                    else None,
                }
            )
            for i in range(MODELS)
        )
        built.append(
            template.model_copy(
                update={
                    "metadata": template.metadata.model_copy(update={"name": name}),
                    "spec": template.spec.model_copy(update={"models": assignments, "node_pools": ()}),
                }
            )
        )
    return FleetSpec(fleet=spec.fleet, policies=spec.policies, zones=tuple(built), models=models), built


def as_served(obj: dict[str, Any], n: int) -> dict[str, Any]:
    served = copy.deepcopy(obj)
    meta = served["metadata"]
    meta.update(
        resourceVersion=str(1000 + n),
        uid=f"00000000-0000-0000-0000-{n:012d}",
        creationTimestamp="2026-11-28T00:00:00Z",
        generation=1,
        managedFields=[
            {"manager": "edgeops", "operation": "Apply", "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {}}}
        ],
    )
    served["status"] = {"observedGeneration": 1}
    return served


def live_state(
    rendered: list[RenderedZone],
) -> list[tuple[dict[ObjectRef, Any], dict[ObjectRef, Any], tuple[ObjectRef, ...]]]:
    states = []
    n = 0
    for zone in rendered:
        live: dict[ObjectRef, Any] = {}
        dry: dict[ObjectRef, Any] = {}
        drifted = False
        for manifest in zone:
            n += 1
            obj = manifest.obj()
            live[manifest.ref] = as_served(obj, n)
            dry[manifest.ref] = as_served(obj, n)
            if manifest.ref.kind == "Deployment" and not drifted:
                live[manifest.ref]["spec"]["replicas"] = 7  # scaled by hand: one configure per zone
                drifted = True
        states.append((live, dry, tuple(m.ref for m in zone)))
    return states


def measure(zones: int, repeat: int) -> dict[str, float]:
    spec, built = synthetic_fleet(zones)
    renders, plans, totals = [], [], []
    objects = configured = 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        rendered = [render_zone(spec, z, "f" * 40) for z in built]
        t1 = time.perf_counter()
        states = live_state(rendered)  # building the fake cluster is not part of the measurement
        t2 = time.perf_counter()
        results = [
            ZonePlan(r.zone, r.revision, plan_kubernetes(r.manifests, live, dry, inventory))
            for r, (live, dry, inventory) in zip(rendered, states, strict=True)
        ]
        t3 = time.perf_counter()
        renders.append(t1 - t0)
        plans.append(t3 - t2)
        totals.append((t1 - t0) + (t3 - t2))
        objects = sum(len(r.manifests) for r in rendered)
        configured = sum(p.kubernetes.counts()[Action.CONFIGURE] for p in results)
    return {
        "render": statistics.median(renders),
        "plan": statistics.median(plans),
        "total": statistics.median(totals),
        "objects": objects,
        "configured": configured,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sizes = (10, 50, 100)
    rows = {n: measure(n, args.repeat) for n in sizes}
    base = rows[10]["total"]
    lines = [
        "# Render + plan: synthetic fleets against in-memory live state",
        "",
        f"Machine: {machine(with_load=True)}",
        "",
        f"Median of {args.repeat} runs; {MODELS} models per zone (every other one with a live canary); one hand-scaled",
        "Deployment per zone, so each zone plans one `configure` with a diff. Baseline: the 10-zone fleet, same run.",
        "",
        "| zones x models | objects | render | plan | render + plan | per zone | ratio to 10 zones (linear = N/10) |",
        "|---|---|---|---|---|---|---|",
    ]
    for n in sizes:
        r = rows[n]
        lines.append(
            f"| {n} x {MODELS} | {int(r['objects'])} | {r['render'] * 1000:.0f} ms | {r['plan'] * 1000:.0f} ms "
            f"| {r['total'] * 1000:.0f} ms | {r['total'] / n * 1000:.1f} ms | {r['total'] / base:.2f} ({n / 10:.0f}) |"
        )
        print(
            f"{n:>4} zones: render {r['render']:.3f}s plan {r['plan']:.3f}s total {r['total']:.3f}s "
            f"ratio {r['total'] / base:.2f} (configure {int(r['configured'])})"
        )
    verdict = "meets" if rows[100]["total"] < 2.0 else "misses"
    lines += ["", f"100 x 10 takes {rows[100]['total']:.2f} s: {verdict} the 2 s target.", ""]
    _RESULT.parent.mkdir(parents=True, exist_ok=True)
    _RESULT.write_text("\n".join(lines))
    print(f"written {_RESULT.relative_to(_REPO)}")


if __name__ == "__main__":
    main()
