"""A version's build recipe (model.yaml `versions[].build`): the schema accepts what `runtime.training.Recipe` reads
and refuses out-of-range values naming the key; every schema-valid block reaches build.py with the same values
(generated blocks); the residual flow block trains deterministically, and its exported ONNX Loop reproduces the
numpy reference forward pass."""

from __future__ import annotations

from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from reconciler.core.spec import BuildRecipe
from runtime.training import Flow, Recipe, to_onnx, train_mlp

pytestmark = pytest.mark.unit

recipes = st.fixed_dictionaries(
    {
        "seed": st.integers(0, 2**40),
        "samples": st.integers(1, 100_000),
        "hidden": st.integers(1, 1024),
        "epochs": st.integers(1, 100_000),
    },
    optional={
        "learningRate": st.floats(1e-6, 1.0),
        "flow": st.fixed_dictionaries({"trainSteps": st.integers(1, 64), "steps": st.integers(1, 100_000)}),
    },
)


@settings(max_examples=200)
@given(recipes)
def test_every_schema_valid_block_reaches_build_py_unchanged(block: dict[str, Any]) -> None:
    validated = BuildRecipe.model_validate(block, strict=False)
    recipe = Recipe.from_mapping(validated.model_dump(mode="json"))
    assert (recipe.seed, recipe.samples, recipe.hidden, recipe.epochs) == (
        block["seed"],
        block["samples"],
        block["hidden"],
        block["epochs"],
    )
    assert recipe.learning_rate == block.get("learningRate", 0.05)
    flow = block.get("flow")
    assert recipe.flow == (None if flow is None else Flow(train_steps=flow["trainSteps"], steps=flow["steps"]))


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"hidden": 0}, "hidden"),
        ({"samples": 0}, "samples"),
        ({"epochs": 0}, "epochs"),
        ({"seed": -1}, "seed"),
        ({"learningRate": 0}, "learningRate"),
        ({"flow": {"trainSteps": 2}}, "flow.steps"),
        ({"flow": {"trainSteps": 0, "steps": 5}}, "flow.trainSteps"),
        ({"layers": [16]}, "layers"),
    ],
)
def test_bad_recipes_are_refused_naming_the_key(change: dict[str, Any], where: str) -> None:
    block = {"seed": 1, "samples": 10, "hidden": 4, "epochs": 5, **change}
    with pytest.raises(ValidationError) as raised:
        BuildRecipe.model_validate(block, strict=False)
    locations = {".".join(str(p) for p in error["loc"]) for error in raised.value.errors()}
    assert where in locations


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, 5))
    y = (x[:, 0] + 0.5 * x[:, 1] > 0.3).astype(np.float64)
    return x, y


def test_flow_block_trains_deterministically_and_its_loop_matches_the_reference() -> None:
    x, y = _data()
    flow = Flow(train_steps=2, steps=300)
    first = train_mlp(x, y, hidden=8, epochs=60, seed=5, flow=flow)
    again = train_mlp(x, y, hidden=8, epochs=60, seed=5, flow=flow)
    blob = to_onnx(first, graph_name="t", doc="t")
    assert blob == to_onnx(again, graph_name="t", doc="t")
    assert first.wf is not None
    assert np.any(first.wf != 0)
    features = x[:40].astype(np.float32)
    (scores,) = ort.InferenceSession(blob, providers=["CPUExecutionProvider"]).run(None, {"features": features})
    np.testing.assert_allclose(scores, first.predict(features), atol=1e-5, rtol=1e-4)
    accuracy = float(np.mean((scores[:, 0] > 0.5) == (y[:40] > 0.5)))
    assert accuracy > 0.8  # the flow model is a working classifier, not a stub


def test_no_flow_trains_exactly_as_a_plain_mlp() -> None:
    x, y = _data()
    plain = train_mlp(x, y, hidden=8, epochs=30, seed=5)
    assert plain.wf is None
    assert plain.flow_steps == 0
    assert to_onnx(plain, graph_name="t", doc="t") == to_onnx(
        train_mlp(x, y, hidden=8, epochs=30, seed=5, flow=None), graph_name="t", doc="t"
    )
