"""One golden-vector run on onnxruntime with a given provider list, reporting the provider that really ran.

onnxruntime silently falls back to the CPU provider when CUDA or TensorRT cannot initialise (no GPU, no driver,
missing libraries); a GPU result is only claimed when the session's first active provider is a GPU one.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

CPU_PROVIDERS = ("CPUExecutionProvider",)
GPU_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider")


class OnnxRuntimeShellError(Exception):
    """Base of the onnxruntime shell's errors."""


class ProviderUnavailable(OnnxRuntimeShellError):
    """None of the requested execution providers can run here."""


class OrtRunFailed(OnnxRuntimeShellError):
    """The model failed to load or run; `stage` is load or run."""

    def __init__(self, stage: str, message: str) -> None:
        super().__init__(f"onnxruntime {stage} failed: {message}")
        self.stage = stage


@dataclass(frozen=True)
class OrtRunResult:
    runtime: str
    provider: str
    outputs: dict[str, np.ndarray]
    latency_us_p50: float | None


def _import_ort() -> Any:
    try:
        import onnxruntime
    except ImportError as error:
        raise ProviderUnavailable("onnxruntime is not installed (extra: runtime, or gpu)") from error
    return onnxruntime


def run_onnxruntime(
    model: bytes,
    inputs: dict[str, np.ndarray],
    *,
    providers: tuple[str, ...] = CPU_PROVIDERS,
    latency_input: str | None = None,
    repeats: int = 200,
) -> OrtRunResult:
    ort = _import_ort()
    usable = [p for p in providers if p in ort.get_available_providers()]
    if not usable:
        raise ProviderUnavailable(
            f"none of {', '.join(providers)} is available (this onnxruntime has {', '.join(ort.get_available_providers())})"
        )
    options = ort.SessionOptions()
    # One intra-op thread: latency comparable across machines and with the edge runtime's setting.
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(
            model, sess_options=options, providers=list(dict.fromkeys([*usable, "CPUExecutionProvider"]))
        )
    except Exception as error:  # onnxruntime raises its own pybind exception types without a public base
        raise OrtRunFailed("load", str(error)) from error
    active = session.get_providers()[0]
    if active not in usable:
        raise ProviderUnavailable(f"{', '.join(usable)} did not initialise; onnxruntime fell back to {active}")
    feeds = {name: np.ascontiguousarray(array, dtype=np.float32) for name, array in inputs.items()}
    output_names = [o.name for o in session.get_outputs()]
    try:
        values = session.run(output_names, feeds)
    except Exception as error:
        raise OrtRunFailed("run", str(error)) from error
    latency = _latency_p50(session, feeds, latency_input, repeats) if latency_input else None
    return OrtRunResult(
        runtime=f"onnxruntime {ort.__version__}",
        provider=active,
        outputs=dict(zip(output_names, (np.asarray(v) for v in values), strict=True)),
        latency_us_p50=latency,
    )


def _latency_p50(session: Any, feeds: dict[str, np.ndarray], name: str, repeats: int) -> float | None:
    if repeats <= 0:
        return None
    one = {**feeds, name: feeds[name][:1]}
    for _ in range(5):  # warm-up: first runs allocate
        session.run(None, one)
    samples = []
    for _ in range(repeats):
        start = time.perf_counter_ns()
        session.run(None, one)
        samples.append((time.perf_counter_ns() - start) / 1000)
    return float(statistics.median(samples))
