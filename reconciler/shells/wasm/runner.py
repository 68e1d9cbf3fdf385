"""Python side of the Node runner: writes the request, starts `node run_onnx.mjs`, parses its one-line JSON reply."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RUNNER_SCRIPT = Path(__file__).with_name("run_onnx.mjs")
_DEFAULT_TIMEOUT_S = 300.0


class WasmError(Exception):
    """Base of the WASM target's errors."""


class WasmUnavailable(WasmError):
    """Node or the onnxruntime-web package is missing."""


class WasmRunFailed(WasmError):
    """onnxruntime-web could not load or run the model; `stage` is import, load or run."""

    def __init__(self, stage: str, message: str) -> None:
        super().__init__(f"onnxruntime-web {stage} failed: {message}")
        self.stage = stage


@dataclass(frozen=True)
class WasmRunResult:
    runtime: str
    node: str
    outputs: dict[str, np.ndarray]
    latency_us_p50: float | None


def node_modules_dir() -> Path:
    configured = os.environ.get("EDGEOPS_NODE_MODULES")
    if not configured:
        raise WasmUnavailable("EDGEOPS_NODE_MODULES is not set (source tests/env/common.sh, or run bootstrap)")
    path = Path(configured)
    if not (path / "onnxruntime-web").is_dir():
        raise WasmUnavailable(f"onnxruntime-web is not installed in {path} (run: bash tests/env/bootstrap.sh)")
    return path


def node_binary() -> str:
    found = shutil.which(os.environ.get("EDGEOPS_NODE", "node"))
    if not found:
        raise WasmUnavailable("node is not on PATH (Node 20 or newer runs the WASM target)")
    return found


def run_wasm(
    model_path: Path,
    inputs: dict[str, np.ndarray],
    *,
    latency_input: str | None = None,
    repeats: int = 200,
    timeout_s: float = _DEFAULT_TIMEOUT_S,
) -> WasmRunResult:
    """Run `inputs` (float32 tensors by input name) through the model once, then time batch-1 runs."""
    node = node_binary()
    modules = node_modules_dir()
    request = {
        "model": str(model_path.resolve()),
        "inputs": {
            name: {"dims": list(array.shape), "data": np.asarray(array, dtype=np.float32).ravel().tolist()}
            for name, array in inputs.items()
        },
        "latency_input": latency_input,
        "repeats": repeats,
        "node_modules": str(modules),
    }
    with tempfile.TemporaryDirectory(prefix="edgeops-wasm-") as tmp:
        request_path = Path(tmp) / "request.json"
        request_path.write_text(json.dumps(request), encoding="utf-8")
        try:
            proc = subprocess.run(
                [node, str(RUNNER_SCRIPT), str(request_path)],
                capture_output=True,
                text=True,
                timeout=timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            raise WasmRunFailed("run", f"node did not finish within {timeout_s:.0f}s") from error
        except OSError as error:
            raise WasmUnavailable(f"cannot start {node}: {error}") from error
    last_line = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    try:
        reply = json.loads(last_line)
    except json.JSONDecodeError as error:
        detail = (proc.stderr or proc.stdout).strip()[-2000:]
        raise WasmRunFailed("run", f"node exited {proc.returncode} without a result: {detail}") from error
    if not reply.get("ok"):
        stage = str(reply.get("stage", "run"))
        if stage == "import":
            raise WasmUnavailable(f"cannot import onnxruntime-web: {reply.get('error')}")
        raise WasmRunFailed(stage, str(reply.get("error")))
    return WasmRunResult(
        runtime=str(reply["runtime"]),
        node=str(reply["node"]),
        outputs={
            name: np.asarray(value["data"], dtype=np.float32).reshape(value["dims"])
            for name, value in reply["outputs"].items()
        },
        latency_us_p50=None if reply.get("latency_us_p50") is None else float(reply["latency_us_p50"]),
    )
