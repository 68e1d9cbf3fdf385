"""Every model version in the template is built from source to the digest model.yaml records:

- each version's recipe (model.yaml `build`), built in a fresh interpreter (another hash seed), gives exactly the
  recorded digest and size; no version is a placeholder; every version declares its recipe;
- versions really differ (1.1.0 is not 1.0.0's bytes) and keep one IO signature (a canary is a drop-in);
- onnxruntime reproduces each version's golden scores within the model's tolerance;
- the deliberately bad fraud-scoring 1.2.0-slow is compatible (cpu and wasm pass) and is slow by construction:
  its graph runs a Loop of many steps (its latency is measured in benchmarks/model_versions.py, not here);
- `edgeops model build --version V` prints V's recorded digest.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from reconciler.app.modelops import load_model_source, version_recipe
from reconciler.app.modelops.build import digest_in_fresh_interpreter
from reconciler.app.modelops.model_yaml import ModelDocument
from reconciler.core.modelops import describe_onnx
from reconciler.core.spec import Model

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
MODELS = sorted(p.parent for p in (REPO / "models").glob("*/model.yaml"))
VERSIONS = [
    pytest.param(folder, release.version, id=f"{folder.name}-{release.version}")
    for folder in MODELS
    for release in ModelDocument(folder / "model.yaml").model.spec.versions
]


def _model(folder: Path) -> Model:
    return ModelDocument(folder / "model.yaml").model


@pytest.mark.parametrize(("folder", "version"), VERSIONS)
def test_each_version_rebuilds_to_its_recorded_digest(folder: Path, version: str) -> None:
    release = _model(folder).spec.version(version)
    assert release is not None
    assert release.build is not None, f"{folder.name} {version} declares no build recipe"
    assert release.artifact.placeholder is False
    source = load_model_source(folder)
    chosen, recipe = version_recipe(source, version)
    assert (chosen, recipe) == (version, release.build.model_dump(mode="json"))
    assert digest_in_fresh_interpreter(source.directory / "build.py", recipe) == release.artifact.digest


@functools.cache
def _built(folder: Path, version: str) -> bytes:
    source = load_model_source(folder)
    _, recipe = version_recipe(source, version)
    data: bytes = source.build_onnx(recipe)
    return data


def test_versions_differ_and_share_one_io_signature() -> None:
    folder = REPO / "models" / "fraud-scoring"
    versions = _model(folder).spec.versions
    digests = [v.artifact.digest for v in versions]
    assert len(set(digests)) == len(digests)
    assert [v.version for v in versions][:2] == ["1.0.0", "1.1.0"]
    blobs = {v.version: _built(folder, v.version) for v in versions}
    signatures = {version: (m.inputs, m.outputs) for version, m in ((k, describe_onnx(b)) for k, b in blobs.items())}
    assert len(set(signatures.values())) == 1, signatures
    golden = json.loads((folder / "golden.json").read_text())
    tolerance = _model(folder).spec.tolerance
    features = np.asarray(golden["features"], dtype=np.float32)
    for version, blob in blobs.items():
        (scores,) = ort.InferenceSession(blob, providers=["CPUExecutionProvider"]).run(None, {"features": features})
        expected = np.asarray(golden["scores"][version], dtype=np.float32)
        assert np.max(np.abs(scores - expected)) <= tolerance, version
        assert scores.min() < 0.2, version  # still a classifier: both classes appear
        assert scores.max() > 0.8, version
    assert golden["scores"]["1.0.0"] != golden["scores"]["1.1.0"]


def test_the_bad_version_is_compatible_but_slow_by_construction() -> None:
    folder = REPO / "models" / "fraud-scoring"
    release = _model(folder).spec.version("1.2.0-slow")
    assert release is not None
    assert release.build is not None
    assert release.build.flow is not None
    assert (release.compat.cpu.result, release.compat.wasm.result) == ("pass", "pass")
    graph = onnx.load_from_string(_built(folder, "1.2.0-slow")).graph
    (loop,) = [node for node in graph.node if node.op_type == "Loop"]
    steps = next(init for init in graph.initializer if init.name == loop.input[0])
    assert int(onnx.numpy_helper.to_array(steps)) == release.build.flow.steps >= 1000
    assert release.artifact.size < 100_000  # slow by repeated steps, not by big weights
    first = _model(folder).spec.versions[0]
    assert first.compat.cpu.latency_ms is not None
    assert release.compat.cpu.latency_ms is not None
    assert release.compat.cpu.latency_ms > 100 * first.compat.cpu.latency_ms  # as recorded by `model compat`


def test_cli_build_of_a_version_prints_its_recorded_digest(tmp_path: Path) -> None:
    folder = tmp_path / "fraud-scoring"
    folder.mkdir()
    for name in ("build.py", "model.yaml", "golden.json"):
        (folder / name).write_bytes((REPO / "models" / "fraud-scoring" / name).read_bytes())
    cli = Path(sys.executable).with_name("edgeops")
    result = subprocess.run(
        [str(cli), "model", "build", str(folder), "--version", "1.1.0"],
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
        env={**os.environ},
    )
    assert result.returncode == 0, result.stderr
    assert "fraud-scoring 1.1.0" in result.stdout
    release = _model(folder).spec.version("1.1.0")
    assert release is not None
    assert result.stdout.strip().splitlines()[-1] == release.artifact.digest
