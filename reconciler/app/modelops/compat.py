"""`edgeops model compat`: run the golden vectors on each target, judge parity, record the evidence.

Targets: cpu (onnxruntime, CPU provider), gpu (onnxruntime-gpu, TensorRT then CUDA provider; `not-run` unless a
GPU provider really initialises), wasm (onnxruntime-web under Node; `not-run` when Node or the package is
missing). A load or run error is a `fail` with the error as the reason.

The build is of `--version V` (its model.yaml `build` recipe; default: the latest version). Results go to
`dist/compat.json` (keyed by the artifact digest) and into model.yaml: to the version whose artifact digest is the
one just built, or to `--version V` when V's artifact is that digest or still a placeholder. A version that
declares its `build` recipe takes the build's digest and size and stops being a placeholder: its digest is now what
`edgeops model build --version V` reproduces.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from reconciler.app.modelops.build import BuildResult, build_model, dist_dir, write_atomically
from reconciler.app.modelops.model_yaml import ModelDocument, ModelYamlError
from reconciler.app.modelops.source import DEFAULT_TOLERANCE, GoldenVectors, load_golden
from reconciler.core.modelops import ALL_TARGETS, TargetResult, Tolerance, compare
from reconciler.core.spec import CompatResult, Target
from reconciler.shells.onnxrt import CPU_PROVIDERS, GPU_PROVIDERS, OrtRunFailed, ProviderUnavailable, run_onnxruntime
from reconciler.shells.wasm import WasmRunFailed, WasmUnavailable, run_wasm

COMPAT_FILE = "compat.json"


@dataclass(frozen=True)
class CompatRun:
    build: BuildResult
    tolerance: Tolerance
    results: tuple[TargetResult, ...]
    recorded_version: str | None  # the model.yaml version the results were written to, if any


@dataclass(frozen=True)
class _Outputs:
    runtime: str
    provider: str | None
    outputs: dict[str, np.ndarray]
    latency_us: float | None


def _judge(target: Target, run: _Outputs, golden: GoldenVectors, tolerance: Tolerance, now: datetime) -> TargetResult:
    worst = 0.0
    reasons: list[str] = []
    for name, expected in golden.outputs.items():
        if name not in run.outputs:
            reasons.append(f"output {name!r} missing")
            worst = float("inf")
            continue
        parity = compare(expected, run.outputs[name], tolerance)
        worst = max(worst, parity.max_abs_diff)
        if not parity.within:
            reasons.append(f"{name}: {parity.reason}")
    finite = worst if np.isfinite(worst) else None
    return TargetResult(
        target=target,
        compat=CompatResult(
            result="fail" if reasons else "pass",
            runtime=run.runtime,
            provider=run.provider,
            max_abs_diff=finite,
            latency_ms=None if run.latency_us is None else round(run.latency_us / 1000, 6),
            checked_at=now,
            reason="; ".join(reasons) or None,
        ),
    )


def _not_run(target: Target, reason: str, now: datetime) -> TargetResult:
    return TargetResult(target=target, compat=CompatResult(result="not-run", checked_at=now, reason=reason))


def _failed(target: Target, runtime: str | None, reason: str, now: datetime) -> TargetResult:
    return TargetResult(
        target=target, compat=CompatResult(result="fail", runtime=runtime, checked_at=now, reason=reason)
    )


def run_target(
    target: Target, build: BuildResult, golden: GoldenVectors, tolerance: Tolerance, *, repeats: int, now: datetime
) -> TargetResult:
    latency_input = next(iter(golden.inputs), None)
    try:
        if target == "wasm":
            wasm = run_wasm(build.artifact_path, golden.inputs, latency_input=latency_input, repeats=repeats)
            run = _Outputs(f"{wasm.runtime} (node {wasm.node})", "wasm", wasm.outputs, wasm.latency_us_p50)
        else:
            providers = GPU_PROVIDERS if target == "gpu" else CPU_PROVIDERS
            ort = run_onnxruntime(
                build.data, golden.inputs, providers=providers, latency_input=latency_input, repeats=repeats
            )
            run = _Outputs(ort.runtime, ort.provider, ort.outputs, ort.latency_us_p50)
    except (ProviderUnavailable, WasmUnavailable) as error:
        return _not_run(target, str(error), now)
    except WasmRunFailed as error:
        return _failed(target, "onnxruntime-web", str(error), now)
    except OrtRunFailed as error:
        return _failed(target, "onnxruntime", str(error), now)
    return _judge(target, run, golden, tolerance, now)


def _tolerance(build: BuildResult, golden: GoldenVectors) -> Tolerance:
    if build.source.model_yaml.is_file():
        document = ModelDocument(build.source.model_yaml)
        document.check_signature(build.manifest)
        atol = document.model.spec.tolerance
    else:
        atol = golden.atol if golden.atol is not None else DEFAULT_TOLERANCE
    return Tolerance(atol=atol, rtol=golden.rtol)


def check_compat(
    model_dir: Path,
    targets: Sequence[Target],
    *,
    version: str | None = None,
    record: bool = True,
    repeats: int = 200,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> CompatRun:
    build = build_model(model_dir, version=version, verify_reproducible=False)
    golden = load_golden(build.source, build.manifest, build.version)
    tolerance = _tolerance(build, golden)
    now = clock().replace(microsecond=0)
    results = tuple(run_target(t, build, golden, tolerance, repeats=repeats, now=now) for t in targets)
    _write_compat_json(build, results)
    recorded = record_in_model_yaml(build, results, version) if record else None
    return CompatRun(build=build, tolerance=tolerance, results=results, recorded_version=recorded)


def _write_compat_json(build: BuildResult, results: Sequence[TargetResult]) -> None:
    doc = {
        "digest": build.manifest.digest,
        "compat": {r.target: r.compat.model_dump(mode="json", by_alias=True, exclude_none=True) for r in results},
    }
    write_atomically(dist_dir(build.source.directory) / COMPAT_FILE, (json.dumps(doc, indent=2) + "\n").encode())


def load_compat_json(model_dir: Path, digest: str) -> dict[Target, CompatResult]:
    """The compat results recorded for exactly this artifact digest. Every `compat*.json` under dist/ counts (CI
    runs each target on its own runner and gathers their files there); results for another build are ignored."""
    merged: dict[Target, CompatResult] = {}
    root = dist_dir(model_dir)
    if not root.is_dir():
        return merged
    for path in sorted(root.rglob("compat*.json")):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise ModelYamlError(f"{path}: unreadable compat results: {error}") from error
        if not isinstance(doc, dict) or doc.get("digest") != digest:
            continue
        for target, value in doc.get("compat", {}).items():
            if target in ALL_TARGETS:
                merged[target] = CompatResult.model_validate(value, strict=False)
    return merged


def select_version(document: ModelDocument, digest: str, version: str | None) -> str | None:
    """Which model.yaml version the results describe: the one whose artifact is this digest; an explicit version
    only when its artifact is that digest or still a placeholder; else the latest version if it is a placeholder."""
    versions = document.model.spec.versions
    if version is not None:
        chosen = document.model.spec.version(version)
        if chosen is None:
            raise ModelYamlError(f"{document.path}: no version {version} (push creates new versions)")
        if chosen.artifact.digest != digest and not chosen.artifact.placeholder:
            raise ModelYamlError(
                f"{document.path}: version {version} is {chosen.artifact.digest}, the build is {digest}; "
                "a released artifact's results cannot be replaced by another build's (push a new version)"
            )
        return version
    matching = [v.version for v in versions if v.artifact.digest == digest]
    if matching:
        return matching[-1]
    return versions[-1].version if versions[-1].artifact.placeholder else None


def record_in_model_yaml(build: BuildResult, results: Sequence[TargetResult], version: str | None) -> str | None:
    if not build.source.model_yaml.is_file():
        return None
    document = ModelDocument(build.source.model_yaml)
    chosen = select_version(document, build.manifest.digest, version)
    if chosen is None:
        return None
    spec = document.model.spec.version(chosen)
    # A version built from its own recipe is no placeholder once its build's digest is recorded; one without a
    # recipe (its bytes come from elsewhere) stays a placeholder until pushed.
    built_from_recipe = spec is not None and spec.build is not None and chosen == build.version
    if spec is not None and (
        spec.artifact.digest != build.manifest.digest or (built_from_recipe and spec.artifact.placeholder)
    ):
        artifact = spec.artifact.model_copy(
            update={
                "digest": build.manifest.digest,
                "size": build.manifest.size,
                "placeholder": spec.artifact.placeholder and not built_from_recipe,
            }
        )
        document.set_artifact(chosen, artifact, opset=build.manifest.opset)
    for result in results:
        document.set_compat(chosen, result.target, result.compat)
    document.save()
    return chosen
