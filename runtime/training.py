"""Deterministic training and ONNX export of the tiny models in `models/*/build.py`, and what every build.py
shares: training on featurised records, the golden.json document and the script entry point.

The model is `score = sigmoid(relu(((x - mean) / scale) @ w1 + b1) @ w2 + b2)` with one input `features`
float32 `[batch, F]` and one output `score` float32 `[batch, 1]` (the IO signature the runtime serves).

Reproducibility: a fixed seed, full-batch gradient steps (no data-order randomness), parameters rounded to
float32 and the ONNX fields that could vary (producer, opset, IR version, doc strings) pinned, so building
twice gives the same bytes. Exporting needs the `onnx` package (in the `reconciler` extra); serving does not.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from runtime.config import WindowConfig
from runtime.features import replay

OPSET = 17
IR_VERSION = 8
PRODUCER_NAME = "edgeops-models"
PRODUCER_VERSION = "1"
INPUT_NAME = "features"
OUTPUT_NAME = "score"

F32 = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Mlp:
    mean: F32
    scale: F32
    w1: F32
    b1: F32
    w2: F32
    b2: F32

    def predict(self, x: npt.NDArray[Any]) -> F32:
        """Reference forward pass in float32 (what the golden vectors hold)."""
        z = (x.astype(np.float32) - self.mean) / self.scale
        h = np.maximum(z @ self.w1 + self.b1, np.float32(0))
        logits = h @ self.w2 + self.b2
        with np.errstate(over="ignore"):  # exp overflow gives inf and a score of 0, as onnxruntime does
            scores: F32 = (np.float32(1) / (np.float32(1) + np.exp(-logits))).astype(np.float32)
        return scores


def train_mlp(
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
    *,
    hidden: int = 16,
    epochs: int = 400,
    learning_rate: float = 0.05,
    seed: int = 7,
) -> Mlp:
    """Full-batch Adam on class-balanced binary cross-entropy; y holds 0/1 labels."""
    rng = np.random.default_rng(seed)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    z = (x - mean) / scale
    n, f = z.shape
    positives = max(float(y.sum()), 1.0)
    weight = np.where(y > 0.5, n / (2 * positives), n / (2 * max(n - positives, 1.0)))
    params = [
        rng.normal(0, np.sqrt(2.0 / f), (f, hidden)),
        np.zeros(hidden),
        rng.normal(0, np.sqrt(1.0 / hidden), (hidden, 1)),
        np.zeros(1),
    ]
    moments = [np.zeros_like(p) for p in params]
    velocities = [np.zeros_like(p) for p in params]
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    for step in range(1, epochs + 1):
        w1, b1, w2, b2 = params
        pre = z @ w1 + b1
        h = np.maximum(pre, 0.0)
        with np.errstate(over="ignore"):
            p = 1.0 / (1.0 + np.exp(-(h @ w2 + b2)[:, 0]))
        dlogit = (weight * (p - y) / n)[:, None]
        dh = (dlogit @ w2.T) * (pre > 0)
        grads = [z.T @ dh, dh.sum(axis=0), h.T @ dlogit, dlogit.sum(axis=0)]
        for i, g in enumerate(grads):
            moments[i] = beta1 * moments[i] + (1 - beta1) * g
            velocities[i] = beta2 * velocities[i] + (1 - beta2) * g * g
            m_hat = moments[i] / (1 - beta1**step)
            v_hat = velocities[i] / (1 - beta2**step)
            params[i] = params[i] - learning_rate * m_hat / (np.sqrt(v_hat) + eps)
    f32 = [np.asarray(p, dtype=np.float32) for p in (mean, scale, *params)]
    return Mlp(*f32)


def to_onnx(mlp: Mlp, *, graph_name: str, doc: str) -> bytes:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    def const(name: str, value: F32) -> Any:
        return numpy_helper.from_array(np.ascontiguousarray(value, dtype=np.float32), name=name)

    nodes = [
        helper.make_node("Sub", [INPUT_NAME, "mean"], ["centred"], name="centre"),
        helper.make_node("Div", ["centred", "scale"], ["z"], name="standardise"),
        helper.make_node("MatMul", ["z", "w1"], ["h_pre"], name="hidden_matmul"),
        helper.make_node("Add", ["h_pre", "b1"], ["h_biased"], name="hidden_bias"),
        helper.make_node("Relu", ["h_biased"], ["h"], name="hidden_relu"),
        helper.make_node("MatMul", ["h", "w2"], ["logit_pre"], name="out_matmul"),
        helper.make_node("Add", ["logit_pre", "b2"], ["logit"], name="out_bias"),
        helper.make_node("Sigmoid", ["logit"], [OUTPUT_NAME], name="out_sigmoid"),
    ]
    n_features = int(mlp.mean.shape[0])
    graph = helper.make_graph(
        nodes,
        graph_name,
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["batch", n_features])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["batch", 1])],
        initializer=[
            const("mean", mlp.mean),
            const("scale", mlp.scale),
            const("w1", mlp.w1),
            const("b1", mlp.b1),
            const("w2", mlp.w2),
            const("b2", mlp.b2),
        ],
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name=PRODUCER_NAME,
        producer_version=PRODUCER_VERSION,
        doc_string=doc,
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    return bytes(model.SerializeToString(deterministic=True))


def round_records(records: list[dict[str, Any]], digits: int = 3) -> list[dict[str, Any]]:
    """Records with floats rounded, so the JSON fixtures and the training data hold the same values."""
    return [{k: round(v, digits) if isinstance(v, float) else v for k, v in r.items()} for r in records]


def train_window_model(
    window: WindowConfig, records: list[dict[str, Any]], labels: list[int], *, hidden: int, epochs: int, seed: int
) -> Mlp:
    """Featurise records exactly as serving does (`replay` over the window) and train on their 0/1 labels."""
    x = np.asarray(replay(window, records), dtype=np.float64)
    return train_mlp(x, np.asarray(labels, dtype=np.float64), hidden=hidden, epochs=epochs, seed=seed)


def golden_document(name: str, window: WindowConfig, mlp: Mlp, records: list[dict[str, Any]]) -> dict[str, Any]:
    """golden.json: records (replayed in order through the window), their feature vectors and expected scores."""
    features = np.asarray(replay(window, records), dtype=np.float32)
    scores = mlp.predict(features)
    return {
        "model": name,
        "opset": OPSET,
        "input": {"name": INPUT_NAME, "dtype": "float32", "shape": ["batch", len(window.features)]},
        "output": {"name": OUTPUT_NAME, "dtype": "float32", "shape": ["batch", 1]},
        "window": window.model_dump(mode="json"),
        "records": records,
        "features": features.tolist(),
        "scores": scores.tolist(),
        "tolerance": {"atol": 1e-5, "rtol": 1e-4},
    }


def build_main(
    name: str,
    folder: Path,
    build_onnx: Callable[[], bytes],
    golden: Callable[[], dict[str, Any]],
    argv: Sequence[str] | None = None,
) -> None:
    """A `build.py` run as a script: `build.py [OUT.onnx]` writes the model (default `<name>.onnx`) and prints its
    digest; `build.py --golden` rewrites golden.json in the model's folder."""
    args = sys.argv[1:] if argv is None else list(argv)
    if "--golden" in args:
        (folder / "golden.json").write_text(json.dumps(golden(), indent=1) + "\n")
    else:
        blob = build_onnx()
        Path(args[0] if args else f"{name}.onnx").write_bytes(blob)
        print("sha256:" + hashlib.sha256(blob).hexdigest())
