"""Runs ONNX models on the WebAssembly backend of onnxruntime-web, under Node, through `run_onnx.mjs`.

Errors (all chain the original cause where there is one):

    WasmError
    ├── WasmUnavailable      node or onnxruntime-web is not installed (compat reports the target as not-run)
    └── WasmRunFailed        the model did not load or run in onnxruntime-web (compat reports fail)
"""

from reconciler.shells.wasm.runner import WasmError, WasmRunFailed, WasmRunResult, WasmUnavailable, run_wasm

__all__ = ["WasmError", "WasmRunFailed", "WasmRunResult", "WasmUnavailable", "run_wasm"]
