"""A model's source folder: `build.py` (imported by path, exposing `build_onnx(recipe) -> bytes`, or
`build_onnx() -> bytes` for a model whose versions declare no `build` recipe), the committed golden vectors
`golden.json`, and `model.yaml`.

golden.json carries the inputs and the outputs every target must reproduce, in either layout:

    {"input": {"name": "features", ...}, "output": {"name": "score", ...},     # what the models' build.py
     "features": [[...], ...], "scores": {"1.0.0": [[...], ...], ...},        # writes (single input/output;
                                                                               # scores per version, or one list)
     "tolerance": {"atol": 1e-5, "rtol": 1e-4}}
    {"inputs": {"features": [[...]]}, "outputs": {"score": [[...]]}, "tolerance": 1e-5}   # several tensors

The absolute tolerance of model.yaml's `spec.tolerance` wins over golden.json's `atol` when both exist.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from reconciler.core.modelops import ArtifactManifest

DEFAULT_TOLERANCE = 1e-5


class ModelSourceError(ValueError):
    """The model folder lacks a file, or a file is not what it must be (names the file and why)."""


@dataclass(frozen=True)
class GoldenVectors:
    inputs: dict[str, np.ndarray]
    outputs: dict[str, np.ndarray]
    atol: float | None
    rtol: float


@dataclass(frozen=True)
class ModelSource:
    directory: Path
    name: str
    build_onnx: Callable[..., bytes]

    @property
    def model_yaml(self) -> Path:
        return self.directory / "model.yaml"

    @property
    def golden_path(self) -> Path:
        return self.directory / "golden.json"


def load_model_source(directory: Path) -> ModelSource:
    directory = directory.resolve()
    if not directory.is_dir():
        raise ModelSourceError(f"{directory}: not a directory (expected models/<name>/)")
    build_file = directory / "build.py"
    if not build_file.is_file():
        raise ModelSourceError(f"{build_file}: missing (a model folder needs build.py with build_onnx() -> bytes)")
    module = _import_by_path(build_file, directory.name)
    build = getattr(module, "build_onnx", None)
    if not callable(build):
        raise ModelSourceError(f"{build_file}: defines no build_onnx() function")
    return ModelSource(directory=directory, name=directory.name, build_onnx=build)


def _import_by_path(path: Path, model_name: str) -> ModuleType:
    # A module name unique per file: two models' build.py never shadow each other in sys.modules.
    unique = hashlib.sha256(str(path).encode()).hexdigest()[:12]
    module_name = f"edgeops_model_build_{model_name.replace('-', '_')}_{unique}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ModelSourceError(f"{path}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as error:  # the model author's code: report any failure with its file
        sys.modules.pop(module_name, None)
        raise ModelSourceError(f"{path}: import failed: {type(error).__name__}: {error}") from error
    return module


def build_bytes(source: ModelSource, recipe: Mapping[str, Any] | None = None) -> bytes:
    """The artifact bytes of one version: build.py's `build_onnx(recipe)` (its model.yaml `build` block), or
    `build_onnx()` for a version that declares none."""
    try:
        data = source.build_onnx() if recipe is None else source.build_onnx(dict(recipe))
    except Exception as error:  # the model author's code
        raise ModelSourceError(
            f"{source.directory / 'build.py'}: build_onnx() raised {type(error).__name__}: {error}"
        ) from error
    if not isinstance(data, bytes | bytearray):
        raise ModelSourceError(
            f"{source.directory / 'build.py'}: build_onnx() returned {type(data).__name__}, expected bytes"
        )
    return bytes(data)


def _named(value: Any, signature_names: tuple[str, ...], what: str, path: Path) -> dict[str, np.ndarray]:
    items: list[tuple[str, Any]]
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(signature_names))
        if unknown:
            raise ModelSourceError(f"{path}: {what} names {unknown}, the model has {list(signature_names)}")
        items = list(value.items())
    elif isinstance(value, list):
        items = [(signature_names[0], value)]
    else:
        raise ModelSourceError(f"{path}: {what} must be a list or a mapping of name to list")
    out: dict[str, np.ndarray] = {}
    for name, array in items:
        try:
            out[name] = np.asarray(array, dtype=np.float32)
        except (TypeError, ValueError) as error:
            raise ModelSourceError(f"{path}: {what}.{name} is not a rectangular numeric array") from error
    return out


def _positive(value: Any, what: str, path: Path) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ModelSourceError(f"{path}: {what} must be a non-negative number, got {value!r}")
    return float(value)


def _for_version(scores: Any, version: str | None, path: Path) -> Any:
    """golden.json's expected outputs for `version`: one list serves every version, a mapping holds each one's."""
    if not isinstance(scores, dict):
        return scores
    if version not in scores:
        raise ModelSourceError(
            f"{path}: no expected scores for version {version} (have: {', '.join(scores)}); "
            "rewrite golden.json with `python build.py --golden`"
        )
    return scores[version]


def load_golden(source: ModelSource, manifest: ArtifactManifest, version: str | None = None) -> GoldenVectors:
    path = source.golden_path
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ModelSourceError(f"{path}: cannot read golden vectors: {error.strerror}") from error
    except json.JSONDecodeError as error:
        raise ModelSourceError(f"{path}:{error.lineno}:{error.colno}: not JSON: {error.msg}") from error
    if not isinstance(doc, dict):
        raise ModelSourceError(f"{path}: expected a JSON object")
    input_names = tuple(t.name for t in manifest.inputs)
    output_names = tuple(t.name for t in manifest.outputs)
    inputs: Any
    expected: Any
    if "features" in doc and "scores" in doc:
        # Single-input/-output layout; the tensor names come from its "input"/"output" entries.
        in_name = (doc.get("input") or {}).get("name", input_names[0])
        out_name = (doc.get("output") or {}).get("name", output_names[0])
        inputs, expected = {in_name: doc["features"]}, {out_name: _for_version(doc["scores"], version, path)}
    elif "inputs" in doc and ("outputs" in doc or "expected" in doc):
        inputs, expected = doc["inputs"], doc.get("outputs", doc.get("expected"))
    else:
        raise ModelSourceError(f"{path}: expected 'features' and 'scores' (or 'inputs' and 'outputs')")
    tolerance = doc.get("tolerance")
    atol, rtol = (tolerance.get("atol"), tolerance.get("rtol")) if isinstance(tolerance, dict) else (tolerance, None)
    return GoldenVectors(
        inputs=_named(inputs, input_names, "inputs", path),
        outputs=_named(expected, output_names, "outputs", path),
        atol=_positive(atol, "tolerance.atol", path),
        rtol=_positive(rtol, "tolerance.rtol", path) or 0.0,
    )
