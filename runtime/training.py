"""Deterministic training and ONNX export of the tiny models in `models/*/build.py`, and what every build.py
shares: training on featurised records, the golden.json document and the script entry point.

The model is `score = sigmoid(relu(((x - mean) / scale) @ w1 + b1) @ w2 + b2)` with one input `features`
float32 `[batch, F]` and one output `score` float32 `[batch, 1]` (the IO signature the runtime serves).
A recipe with a `flow` adds a continuous-depth residual block between the hidden layer and the output: the ODE
`dh/dt = tanh(h @ wf + bf)` over t in [0, 1], integrated with Euler steps (`train_steps` while training, `steps`
in the exported graph, as an ONNX `Loop` sharing one weight matrix). Its cost grows with `steps`, its size not.

What a version is built from is a `Recipe` (model.yaml `versions[].build`): data seed and size, hidden width,
epochs, learning rate and the optional flow block.

Reproducibility: a fixed seed, full-batch gradient steps (no data-order randomness), parameters rounded to
float32 and the ONNX fields that could vary (producer, opset, IR version, doc strings) pinned, so building
twice gives the same bytes. Exporting needs the `onnx` package (in the `reconciler` extra); serving does not.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
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
class Flow:
    """Euler steps of the residual ODE block: `train_steps` while training, `steps` in the exported graph."""

    train_steps: int
    steps: int


@dataclass(frozen=True)
class Recipe:
    """What one model version is built from (model.yaml `versions[].build`, keys in snake_case)."""

    seed: int
    samples: int
    hidden: int
    epochs: int
    learning_rate: float = 0.05
    flow: Flow | None = None

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Recipe:
        flow = values.get("flow")
        return cls(
            seed=int(values["seed"]),
            samples=int(values["samples"]),
            hidden=int(values["hidden"]),
            epochs=int(values["epochs"]),
            learning_rate=float(values.get("learning_rate", 0.05)),
            flow=None if flow is None else Flow(train_steps=int(flow["train_steps"]), steps=int(flow["steps"])),
        )


@dataclass(frozen=True)
class Mlp:
    mean: F32
    scale: F32
    w1: F32
    b1: F32
    w2: F32
    b2: F32
    wf: F32 | None = field(default=None)  # the flow block's weights, when the recipe has one
    bf: F32 | None = field(default=None)
    flow_steps: int = 0

    def predict(self, x: npt.NDArray[Any]) -> F32:
        """Reference forward pass in float32 (what the golden vectors hold)."""
        z = (x.astype(np.float32) - self.mean) / self.scale
        h = np.maximum(z @ self.w1 + self.b1, np.float32(0))
        if self.wf is not None and self.bf is not None:
            dt = np.float32(1.0 / self.flow_steps)
            for _ in range(self.flow_steps):
                h = h + np.tanh(h @ self.wf + self.bf) * dt
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
    flow: Flow | None = None,
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
    if flow is not None:  # drawn after the others: a recipe without a flow trains exactly as before
        params += [rng.normal(0, np.sqrt(1.0 / hidden), (hidden, hidden)), np.zeros(hidden)]
    moments = [np.zeros_like(p) for p in params]
    velocities = [np.zeros_like(p) for p in params]
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    for step in range(1, epochs + 1):
        w1, b1, w2, b2 = params[:4]
        pre = z @ w1 + b1
        h = np.maximum(pre, 0.0)
        states: list[tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]] = []
        if flow is not None:
            wf, bf = params[4:]
            for _ in range(flow.train_steps):
                t = np.tanh(h @ wf + bf)
                states.append((h, t))
                h = h + t / flow.train_steps
        with np.errstate(over="ignore"):
            p = 1.0 / (1.0 + np.exp(-(h @ w2 + b2)[:, 0]))
        dlogit = (weight * (p - y) / n)[:, None]
        grad_w2 = h.T @ dlogit
        dh = dlogit @ w2.T
        flow_grads: list[npt.NDArray[np.float64]] = []
        if flow is not None:
            wf = params[4]
            grad_wf, grad_bf = np.zeros_like(wf), np.zeros(hidden)
            for h_in, t in reversed(states):
                da = (dh / flow.train_steps) * (1.0 - t * t)
                grad_wf += h_in.T @ da
                grad_bf += da.sum(axis=0)
                dh = dh + da @ wf.T
            flow_grads = [grad_wf, grad_bf]
        dh = dh * (pre > 0)
        grads = [z.T @ dh, dh.sum(axis=0), grad_w2, dlogit.sum(axis=0), *flow_grads]
        for i, g in enumerate(grads):
            moments[i] = beta1 * moments[i] + (1 - beta1) * g
            velocities[i] = beta2 * velocities[i] + (1 - beta2) * g * g
            m_hat = moments[i] / (1 - beta1**step)
            v_hat = velocities[i] / (1 - beta2**step)
            params[i] = params[i] - learning_rate * m_hat / (np.sqrt(v_hat) + eps)
    f32 = [np.asarray(p, dtype=np.float32) for p in (mean, scale, *params)]
    mean32, scale32, w1_32, b1_32, w2_32, b2_32 = f32[:6]
    if flow is None:
        return Mlp(mean32, scale32, w1_32, b1_32, w2_32, b2_32)
    return Mlp(mean32, scale32, w1_32, b1_32, w2_32, b2_32, wf=f32[6], bf=f32[7], flow_steps=flow.steps)


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
    ]
    flow_initializers = []
    hidden_out = "h"
    if mlp.wf is not None and mlp.bf is not None:
        nodes.append(_flow_loop("h", "h_flow"))
        hidden_out = "h_flow"
        flow_initializers = [
            const("wf", mlp.wf),
            const("bf", mlp.bf),
            const("dt", np.asarray([1.0 / mlp.flow_steps], dtype=np.float32)),
            numpy_helper.from_array(np.asarray(mlp.flow_steps, dtype=np.int64), name="flow_steps"),
            numpy_helper.from_array(np.asarray(True), name="flow_cond"),
        ]
    nodes += [
        helper.make_node("MatMul", [hidden_out, "w2"], ["logit_pre"], name="out_matmul"),
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
            *flow_initializers,
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


def _flow_loop(source: str, result: str) -> Any:
    """`h <- h + tanh(h @ wf + bf) * dt`, `steps` times, as one ONNX Loop whose body reads wf, bf, dt from the
    outer graph (one copy of the weights however many steps)."""
    from onnx import TensorProto, helper

    body = helper.make_graph(
        [
            helper.make_node("Identity", ["cond_in"], ["cond_out"], name="flow_keep_going"),
            helper.make_node("MatMul", ["h_in", "wf"], ["flow_pre"], name="flow_matmul"),
            helper.make_node("Add", ["flow_pre", "bf"], ["flow_biased"], name="flow_bias"),
            helper.make_node("Tanh", ["flow_biased"], ["flow_rate"], name="flow_tanh"),
            helper.make_node("Mul", ["flow_rate", "dt"], ["flow_step"], name="flow_scale"),
            helper.make_node("Add", ["h_in", "flow_step"], ["h_out"], name="flow_euler"),
        ],
        "flow_step",
        [
            helper.make_tensor_value_info("iteration", TensorProto.INT64, []),
            helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
            helper.make_tensor_value_info("h_in", TensorProto.FLOAT, None),
        ],
        [
            helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
            helper.make_tensor_value_info("h_out", TensorProto.FLOAT, None),
        ],
    )
    return helper.make_node("Loop", ["flow_steps", "flow_cond", source], [result], name="flow", body=body)


def round_records(records: list[dict[str, Any]], digits: int = 3) -> list[dict[str, Any]]:
    """Records with floats rounded, so the JSON fixtures and the training data hold the same values."""
    return [{k: round(v, digits) if isinstance(v, float) else v for k, v in r.items()} for r in records]


def train_window_model(window: WindowConfig, records: list[dict[str, Any]], labels: list[int], recipe: Recipe) -> Mlp:
    """Featurise records exactly as serving does (`replay` over the window) and train on their 0/1 labels."""
    x = np.asarray(replay(window, records), dtype=np.float64)
    return train_mlp(
        x,
        np.asarray(labels, dtype=np.float64),
        hidden=recipe.hidden,
        epochs=recipe.epochs,
        learning_rate=recipe.learning_rate,
        seed=recipe.seed,
        flow=recipe.flow,
    )


def _snake(key: str) -> str:
    return re.sub(r"[A-Z]", lambda m: "_" + m.group(0).lower(), key)


def _snake_keys(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {_snake(str(k)): _snake_keys(v) for k, v in value.items()}
    return value


def version_recipes(model_yaml: Path) -> dict[str, Recipe]:
    """Each version's `build` block in model.yaml (the schema has validated it), in file order."""
    from ruamel.yaml import YAML

    doc = YAML(typ="safe", pure=True).load(model_yaml.read_text(encoding="utf-8"))
    return {
        str(v["version"]): Recipe.from_mapping(_snake_keys(v["build"]))
        for v in doc["spec"]["versions"]
        if v.get("build") is not None
    }


def recipe_for(folder: Path, recipe: Mapping[str, Any] | None) -> Recipe:
    """The recipe a build.py was given, or (none given: a script run, a test) the first version's in model.yaml."""
    if recipe is not None:
        return Recipe.from_mapping(recipe)
    recipes = version_recipes(folder / "model.yaml")
    if not recipes:
        raise ValueError(f"{folder / 'model.yaml'}: no version declares a `build` block")
    return next(iter(recipes.values()))


def golden_document(
    name: str, window: WindowConfig, models: Mapping[str, Mlp], records: list[dict[str, Any]]
) -> dict[str, Any]:
    """golden.json: records (replayed in order through the window), their feature vectors and each version's
    expected scores."""
    features = np.asarray(replay(window, records), dtype=np.float32)
    return {
        "model": name,
        "opset": OPSET,
        "input": {"name": INPUT_NAME, "dtype": "float32", "shape": ["batch", len(window.features)]},
        "output": {"name": OUTPUT_NAME, "dtype": "float32", "shape": ["batch", 1]},
        "window": window.model_dump(mode="json"),
        "records": records,
        "features": features.tolist(),
        "scores": {version: mlp.predict(features).tolist() for version, mlp in models.items()},
        "tolerance": {"atol": 1e-5, "rtol": 1e-4},
    }


def build_main(
    name: str,
    folder: Path,
    build_onnx: Callable[[Mapping[str, Any] | None], bytes],
    golden: Callable[[], dict[str, Any]],
    argv: Sequence[str] | None = None,
) -> None:
    """A `build.py` run as a script: `build.py [--version V] [OUT.onnx]` writes the model of version V (default:
    the first version in model.yaml) to OUT (default `<name>.onnx`) and prints its digest; `build.py --golden`
    rewrites golden.json (every version's scores) in the model's folder."""
    args = list(sys.argv[1:] if argv is None else argv)
    if "--golden" in args:
        (folder / "golden.json").write_text(json.dumps(golden(), indent=1) + "\n")
        return
    recipe: Mapping[str, Any] | None = None
    if "--version" in args:
        at = args.index("--version")
        version = args[at + 1]
        del args[at : at + 2]
        recipes = version_recipes(folder / "model.yaml")
        if version not in recipes:
            raise SystemExit(f"{folder / 'model.yaml'}: no version {version} with a `build` block")
        recipe = asdict(recipes[version])
    blob = build_onnx(recipe)
    Path(args[0] if args else f"{name}.onnx").write_bytes(blob)
    print("sha256:" + hashlib.sha256(blob).hexdigest())
