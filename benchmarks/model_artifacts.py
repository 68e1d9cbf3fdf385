"""Edge pull cost against the bare minimum, and CPU vs WASM inference latency of the example models.

    python benchmarks/model_artifacts.py [--mib 64] [--rounds 5]

Pull: a real ONNX artifact of about `--mib` MiB (one big MatMul weight) is pushed to a local docker-registry.
Baseline: a plain HTTP GET of the blob to /dev/null (no hashing, no file). Measured: `ModelPuller.ensure` from the
registry (stream to a temp file + sha256 + fsync + atomic rename), a cache hit that re-hashes the file (first use
in a process), and a cache hit remembered by size/mtime. Median of `--rounds`; ratio = measured / baseline.

Compat: batch-1 latency p50 of each example model's first version on onnxruntime CPU and onnxruntime-web (WASM,
Node), the WASM/CPU ratio, and the max abs difference between the two targets' outputs on the golden inputs.
Writes benchmarks/results/model-artifacts.md.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

_REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(_REPO))

from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from prometheus_client import CollectorRegistry  # noqa: E402

from benchmarks.machine import machine  # noqa: E402
from reconciler.app.modelops.build import build_model  # noqa: E402
from reconciler.app.modelops.model_yaml import ModelDocument  # noqa: E402
from reconciler.app.modelops.source import load_golden  # noqa: E402
from reconciler.core.modelops.manifest import describe_onnx  # noqa: E402
from reconciler.core.modelops.oci import build_artifact  # noqa: E402
from reconciler.shells.onnxrt import run_onnxruntime  # noqa: E402
from reconciler.shells.registry import RegistryClient, parse_registry  # noqa: E402
from reconciler.shells.wasm import run_wasm  # noqa: E402
from runtime.artifacts import ModelPuller, PullMetrics  # noqa: E402
from tests.fixtures.registry import LocalRegistry  # noqa: E402

_RESULT = _REPO / "benchmarks" / "results" / "model-artifacts.md"


def big_model(mib: int) -> bytes:
    columns = 1024
    rows = max(1, mib * 1024 * 1024 // (4 * columns))
    weight = np.random.default_rng(1).normal(size=(rows, columns)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["features", "W"], ["score"])],
        "big",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", rows])],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, ["batch", columns])],
        [numpy_helper.from_array(weight, "W")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return bytes(model.SerializeToString())


def timed(action: object, rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        began = time.perf_counter()
        action()  # type: ignore[operator]
        samples.append(time.perf_counter() - began)
    return statistics.median(samples)


def bench_pull(mib: int, rounds: int) -> list[str]:
    data = big_model(mib)
    manifest = describe_onnx(data)
    with tempfile.TemporaryDirectory() as tmp:
        registry = LocalRegistry(workdir=Path(tmp))
        registry.start()
        try:
            location = parse_registry(registry.host)
            pushed = RegistryClient(location).push(
                build_artifact(model="big", version="1.0.0", manifest=manifest, repository="bench/big"), data
            )
            url = f"{registry.url}/v2/{pushed.repository}/blobs/{manifest.digest}"
            ref = f"{registry.host}/{pushed.repository}:1.0.0"

            def bare_get() -> None:
                with urllib.request.urlopen(url, timeout=60) as reply:
                    while reply.read(1 << 16):
                        pass

            def fresh_pull() -> None:
                with tempfile.TemporaryDirectory(dir=tmp) as cache:
                    puller = ModelPuller(Path(cache), metrics=PullMetrics(CollectorRegistry()))
                    asyncio.run(puller.ensure(ref, manifest.digest))

            cache_dir = Path(tmp) / "cache"
            warm = ModelPuller(cache_dir, metrics=PullMetrics(CollectorRegistry()))
            asyncio.run(warm.ensure(ref, manifest.digest))

            def rehash_hit() -> None:
                asyncio.run(
                    ModelPuller(cache_dir, metrics=PullMetrics(CollectorRegistry())).ensure(ref, manifest.digest)
                )

            def remembered_hit() -> None:
                asyncio.run(warm.ensure(ref, manifest.digest))

            bare_get()  # warm the registry's page cache
            baseline = timed(bare_get, rounds)
            rows = [("plain HTTP GET to /dev/null (baseline)", baseline)]
            rows.append(("ensure: fetch + sha256 + fsync + rename", timed(fresh_pull, rounds)))
            rows.append(("ensure: cache hit, re-hash (first use)", timed(rehash_hit, rounds)))
            rows.append(("ensure: cache hit, remembered", timed(remembered_hit, rounds)))
        finally:
            registry.stop()
    lines = [
        f"## Pull of a {manifest.size / 2**20:.1f} MiB artifact (median of {rounds})",
        "",
        "| operation | time | MiB/s | ratio to baseline |",
        "|---|---|---|---|",
    ]
    for name, seconds in rows:
        lines.append(
            f"| {name} | {seconds * 1000:.1f} ms | {manifest.size / 2**20 / seconds:.0f} | {seconds / baseline:.2f} |"
        )
    return lines


def bench_compat() -> list[str]:
    lines = [
        "## CPU vs WASM, batch 1 (p50 of 500 runs after warm-up)",
        "",
        "| model | CPU (onnxruntime) | WASM (onnxruntime-web, Node) | WASM / CPU | max abs diff CPU↔WASM |",
        "|---|---|---|---|---|",
    ]
    for folder in sorted((_REPO / "models").glob("*/build.py")):
        first = ModelDocument(folder.parent / "model.yaml").model.spec.versions[0].version  # the stable version
        build = build_model(folder.parent, version=first, verify_reproducible=False)
        golden = load_golden(build.source, build.manifest, build.version)
        name = next(iter(golden.inputs))
        cpu = run_onnxruntime(build.data, golden.inputs, latency_input=name, repeats=500)
        wasm = run_wasm(build.artifact_path, golden.inputs, latency_input=name, repeats=500)
        assert cpu.latency_us_p50 is not None
        assert wasm.latency_us_p50 is not None
        diff = max(float(np.max(np.abs(cpu.outputs[k] - wasm.outputs[k]))) for k in cpu.outputs)
        lines.append(
            f"| {build.source.name} | {cpu.latency_us_p50:.1f} µs | {wasm.latency_us_p50:.1f} µs | "
            f"{wasm.latency_us_p50 / cpu.latency_us_p50:.1f} | {diff:.1e} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mib", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    lines = [
        "# Model artifacts: edge pull and CPU/WASM latency",
        "",
        f"Machine: {machine()}",
        "",
        "Measured with other test workloads possibly running on the same machine; ratios are within one run.",
        "",
    ]
    lines += [*bench_pull(args.mib, args.rounds), "", *bench_compat(), ""]
    _RESULT.parent.mkdir(parents=True, exist_ok=True)
    _RESULT.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
