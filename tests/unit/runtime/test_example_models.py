"""Example models built from source (fraud-scoring, sensor-anomaly): building twice gives identical bytes;
the ONNX file has the IO signature the runtime serves (features float32 [batch, F] -> score float32
[batch, 1]) and the pinned opset/producer; the committed golden.json matches both the shared feature code
(records -> features) and onnxruntime's output on the built model (features -> scores) within tolerance.
`build_onnx()` without a recipe builds the first version in model.yaml; every version is built in
tests/integration/modelops/test_template_versions.py."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from runtime.config import WindowConfig
from runtime.features import replay
from runtime.training import OPSET, PRODUCER_NAME

pytestmark = pytest.mark.unit

MODELS = Path(__file__).resolve().parents[3] / "models"
NAMES = ["fraud-scoring", "sensor-anomaly"]


def _load_build(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"build_{name.replace('-', '_')}", MODELS / name / "build.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module", params=NAMES)
def built(request: pytest.FixtureRequest) -> tuple[ModuleType, bytes, dict[str, Any]]:
    module = _load_build(request.param)
    golden = json.loads((MODELS / request.param / "golden.json").read_text())
    return module, module.build_onnx(), golden


def test_build_is_byte_identical(built: tuple[ModuleType, bytes, dict[str, Any]]) -> None:
    module, blob, _ = built
    assert module.build_onnx() == blob


def test_io_signature_and_pinned_fields(built: tuple[ModuleType, bytes, dict[str, Any]]) -> None:
    module, blob, golden = built
    model = onnx.load_from_string(blob)
    assert model.producer_name == PRODUCER_NAME
    assert [o.version for o in model.opset_import] == [OPSET]
    (inp,) = model.graph.input
    (out,) = model.graph.output
    assert inp.name == "features"
    assert out.name == "score"
    assert inp.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    dims = [d.dim_value or d.dim_param for d in inp.type.tensor_type.shape.dim]
    assert dims == ["batch", len(module.WINDOW.features)]
    assert golden["input"]["shape"][1] == len(module.WINDOW.features)


def test_golden_features_match_shared_feature_code(built: tuple[ModuleType, bytes, dict[str, Any]]) -> None:
    module, _, golden = built
    window = WindowConfig.model_validate(golden["window"], strict=False)
    assert window == module.WINDOW
    expected = np.asarray(golden["features"], dtype=np.float32)
    got = np.asarray(replay(window, golden["records"]), dtype=np.float32)
    np.testing.assert_array_equal(got, expected)


def test_onnxruntime_reproduces_golden_scores(built: tuple[ModuleType, bytes, dict[str, Any]]) -> None:
    _, blob, golden = built
    session = ort.InferenceSession(blob, providers=["CPUExecutionProvider"])
    features = np.asarray(golden["features"], dtype=np.float32)
    (scores,) = session.run(["score"], {"features": features})
    assert scores.shape == (len(features), 1)
    assert scores.dtype == np.float32
    tol = golden["tolerance"]
    first = next(iter(golden["scores"]))
    np.testing.assert_allclose(scores, np.asarray(golden["scores"][first]), atol=tol["atol"], rtol=tol["rtol"])
    # The goldens are not degenerate: both classes appear.
    assert scores.min() < 0.2
    assert scores.max() > 0.8
