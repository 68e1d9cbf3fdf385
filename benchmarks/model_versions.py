"""Inference latency of every version of the template's models, as a ratio to each model's first version.

    python benchmarks/model_versions.py [--rounds 3] [--runs 200]

Each version is built from its model.yaml recipe and loaded as the runtime loads it (onnxruntime CPU provider, one
intra-op and one inter-op thread, all graph optimisations). Per round: `--runs` timed runs after warm-up at batch 1
and at batch 32 (rows drawn from the golden features), p50 and p95 of those runs. Reported: the median over
`--rounds` rounds with the spread (min-max) across rounds, and the median's ratio to the first version's. The
fraud-scoring p95 SLO (model.yaml `slo.p95LatencyMs`) is shown next to each model: the deliberately bad version
must exceed it, the others stay far below. Writes benchmarks/results/model-versions.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

_REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(_REPO))

import onnxruntime as ort  # noqa: E402

from benchmarks.machine import machine  # noqa: E402
from reconciler.app.modelops import build_bytes, load_model_source, version_recipe  # noqa: E402
from reconciler.app.modelops.model_yaml import ModelDocument  # noqa: E402
from reconciler.app.modelops.source import load_golden  # noqa: E402
from reconciler.core.modelops import describe_onnx  # noqa: E402

_RESULT = _REPO / "benchmarks" / "results" / "model-versions.md"
BATCHES = (1, 32)


def _session(data: bytes) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])


def _round(session: ort.InferenceSession, batch: np.ndarray, runs: int) -> tuple[float, float]:
    """p50 and p95 in ms of `runs` timed runs after warm-up."""
    for _ in range(5):
        session.run(None, {"features": batch})
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        session.run(None, {"features": batch})
        times.append((time.perf_counter() - start) * 1000)
    return float(np.percentile(times, 50)), float(np.percentile(times, 95))


def _cell(values: list[float], base: float | None) -> str:
    median = statistics.median(values)
    ratio = "" if base is None else f" ({median / base:.0f}×)" if median / base >= 10 else f" ({median / base:.2f}×)"
    return f"{median:.3f} ms [{min(values):.3f}–{max(values):.3f}]{ratio}"


def bench_model(folder: Path, rounds: int, runs: int) -> list[str]:
    source = load_model_source(folder)
    model = ModelDocument(source.model_yaml).model
    slo = model.spec.slo.p95_latency_ms
    lines = [
        f"## {model.name}" + (f" (p95 SLO {slo} ms)" if slo is not None else ""),
        "",
        "| version | size | batch | p50 | p95 |",
        "|---|---|---|---|---|",
    ]
    base: dict[int, tuple[float, float]] = {}
    for release in model.spec.versions:
        _, recipe = version_recipe(source, release.version)
        data = build_bytes(source, recipe)
        manifest = describe_onnx(data)
        golden = load_golden(source, manifest, release.version)
        features = next(iter(golden.inputs.values()))
        session = _session(data)
        for size in BATCHES:
            batch = np.resize(features, (size, features.shape[1])).astype(np.float32)
            measured = [_round(session, batch, runs) for _ in range(rounds)]
            p50s, p95s = [m[0] for m in measured], [m[1] for m in measured]
            first = base.setdefault(size, (statistics.median(p50s), statistics.median(p95s)))
            is_base = release is model.spec.versions[0]
            lines.append(
                f"| {release.version} | {manifest.size} B | {size} | {_cell(p50s, None if is_base else first[0])} | "
                f"{_cell(p95s, None if is_base else first[1])} |"
            )
            print(lines[-1], flush=True)
    return [*lines, ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    lines = [
        "# Model versions: CPU latency per version",
        "",
        f"Machine: {machine(with_load=True)}",
        "",
        f"onnxruntime {ort.__version__}, CPU provider, 1 intra-op thread. Each cell: median over {args.rounds} rounds "
        f"of {args.runs} timed runs, [min–max across rounds], (ratio to the model's first version).",
        "",
    ]
    for folder in sorted(p.parent for p in (_REPO / "models").glob("*/model.yaml")):
        lines += bench_model(folder, args.rounds, args.runs)
    _RESULT.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {_RESULT}")


if __name__ == "__main__":
    main()
