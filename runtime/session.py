"""Loading a model into onnxruntime: digest check, execution-provider choice, IO check and warm-up.

Provider choice walks the deployment's preference (default TensorRT -> CUDA -> CPU) and keeps the first one
that this onnxruntime build offers *and* that the hardware can back (an NVIDIA device node for the GPU
providers); the session is then created with that provider plus CPU as fallback, and the provider that
onnxruntime actually bound is what we report (it can differ when, say, CUDA libraries are missing).

Errors: `ModelLoadError` (missing file, digest mismatch, not ONNX, wrong IO signature, warm-up failure).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from runtime.config import ExecutionProvider, ModelDeploymentConfig

INPUT_NAME = "features"
OUTPUT_NAME = "score"
WARMUP_BATCH_SIZES = (1, 8, 64)

_ORT_NAMES = {
    ExecutionProvider.TENSORRT: "TensorrtExecutionProvider",
    ExecutionProvider.CUDA: "CUDAExecutionProvider",
    ExecutionProvider.CPU: "CPUExecutionProvider",
}
_PROVIDER_LABEL = {v: k.value for k, v in _ORT_NAMES.items()}


class ModelLoadError(RuntimeError):
    """The model could not be loaded; the message names the file and the reason."""


def has_nvidia_device() -> bool:
    return Path("/dev/nvidiactl").exists() or Path("/dev/nvhost-ctrl").exists()  # dGPU or Jetson


def choose_providers(preference: Sequence[ExecutionProvider], available: Sequence[str], gpu_present: bool) -> list[str]:
    """The onnxruntime provider list to request: the first usable preferred provider, then CPU."""
    for wanted in preference:
        name = _ORT_NAMES[wanted]
        if name not in available:
            continue
        if wanted is not ExecutionProvider.CPU and not gpu_present:
            continue
        return [name] if wanted is ExecutionProvider.CPU else [name, _ORT_NAMES[ExecutionProvider.CPU]]
    return [_ORT_NAMES[ExecutionProvider.CPU]]


@dataclass(frozen=True)
class LoadedModel:
    """A warmed-up session for one deployment's artifact; `run` maps [n, F] features to [n] scores."""

    session: Any
    provider: str  # tensorrt | cuda | cpu
    digest: str
    version: str
    n_features: int

    def run(self, features: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        (scores,) = self.session.run([OUTPUT_NAME], {INPUT_NAME: features})
        if scores.shape != (features.shape[0], 1):
            raise ValueError(f"model returned shape {scores.shape}, expected ({features.shape[0]}, 1)")
        out: npt.NDArray[np.float32] = scores[:, 0]
        return out


def _session_options() -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    # One thread each: batches are tiny and the event loop thread does the work; more threads only add
    # wake-up latency on a 2-core edge box. Override with EDGEOPS_ORT_THREADS.
    options.intra_op_num_threads = int(os.environ.get("EDGEOPS_ORT_THREADS", "1"))
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return options


def load_model(deployment: ModelDeploymentConfig, model_dir: Path) -> LoadedModel:
    import onnxruntime as ort

    path = deployment.artifact.path_in(model_dir)
    try:
        blob = path.read_bytes()
    except OSError as exc:
        raise ModelLoadError(f"{path}: cannot read model ({exc.strerror})") from exc
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    if digest != deployment.artifact.digest:
        raise ModelLoadError(f"{path}: digest {digest} does not match the configured {deployment.artifact.digest}")
    providers = choose_providers(deployment.providers, ort.get_available_providers(), has_nvidia_device())
    try:
        session = ort.InferenceSession(blob, sess_options=_session_options(), providers=providers)
    except Exception as exc:  # onnxruntime raises its own untyped errors for bad files
        raise ModelLoadError(f"{path}: onnxruntime cannot load it: {exc}") from exc
    inputs, outputs = session.get_inputs(), session.get_outputs()
    n_features = len(deployment.window.features)
    if [i.name for i in inputs] != [INPUT_NAME] or [o.name for o in outputs] != [OUTPUT_NAME]:
        raise ModelLoadError(f"{path}: IO must be one input {INPUT_NAME!r} and one output {OUTPUT_NAME!r}")
    shape = inputs[0].shape
    if inputs[0].type != "tensor(float)" or len(shape) != 2 or shape[1] != n_features:
        raise ModelLoadError(
            f"{path}: input {INPUT_NAME!r} is {inputs[0].type} {shape}, the window gives float [batch, {n_features}]"
        )
    model = LoadedModel(
        session, _PROVIDER_LABEL.get(session.get_providers()[0], "cpu"), digest, deployment.version, n_features
    )
    try:
        for size in WARMUP_BATCH_SIZES:  # first runs allocate arenas and (TensorRT) build engines
            model.run(np.zeros((size, n_features), dtype=np.float32))
    except Exception as exc:
        raise ModelLoadError(f"{path}: warm-up inference failed: {exc}") from exc
    return model
