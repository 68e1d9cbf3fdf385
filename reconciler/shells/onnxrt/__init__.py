"""Runs ONNX models in-process with onnxruntime (CPU) or onnxruntime-gpu (TensorRT / CUDA execution providers).

Errors (all chain the original onnxruntime exception):

    OnnxRuntimeShellError
    ├── ProviderUnavailable  onnxruntime is missing, or none of the requested execution providers is usable here
    └── OrtRunFailed         the model did not load or run
"""

from reconciler.shells.onnxrt.runner import (
    CPU_PROVIDERS,
    GPU_PROVIDERS,
    OnnxRuntimeShellError,
    OrtRunFailed,
    OrtRunResult,
    ProviderUnavailable,
    run_onnxruntime,
)

__all__ = [
    "CPU_PROVIDERS",
    "GPU_PROVIDERS",
    "OnnxRuntimeShellError",
    "OrtRunFailed",
    "OrtRunResult",
    "ProviderUnavailable",
    "run_onnxruntime",
]
