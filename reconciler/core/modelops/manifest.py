"""What a built ONNX artifact is: digest, size, opset and IO signature, read from the model bytes alone.

The manifest is what `edgeops model build` writes next to the artifact and what `push` annotates the OCI artifact
with; it is derived from the bytes only, so two builds of the same source give the same manifest.
"""

from __future__ import annotations

import hashlib
import json

import onnx
from onnx import TensorProto
from pydantic import BaseModel, ConfigDict


class ManifestError(ValueError):
    """The bytes are not a usable ONNX model (names what is wrong)."""


class TensorSignature(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    dtype: str
    # A symbolic dimension (batch) keeps its name; a fixed one is an int.
    shape: tuple[int | str, ...]


class ArtifactManifest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    digest: str
    size: int
    format: str = "onnx"
    opset: int
    ir_version: int
    producer: str
    inputs: tuple[TensorSignature, ...]
    outputs: tuple[TensorSignature, ...]

    def to_json(self) -> str:
        # Sorted keys and a trailing newline: the manifest file itself is byte-for-byte reproducible.
        return json.dumps(self.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# ONNX element types under the numpy-style names model.yaml's signature uses.
_DTYPES = {"FLOAT": "float32", "DOUBLE": "float64", "FLOAT16": "float16", "BOOL": "bool", "STRING": "string"}


def _signature(value: onnx.ValueInfoProto) -> TensorSignature:
    tensor_type = value.type.tensor_type
    dims: list[int | str] = []
    for dim in tensor_type.shape.dim:
        if dim.HasField("dim_value"):
            dims.append(int(dim.dim_value))
        else:
            dims.append(dim.dim_param or "?")
    onnx_name = TensorProto.DataType.Name(tensor_type.elem_type)
    dtype = _DTYPES.get(onnx_name, onnx_name.lower())
    return TensorSignature(name=value.name, dtype=dtype, shape=tuple(dims))


def default_opset(model: onnx.ModelProto) -> int:
    for entry in model.opset_import:
        if entry.domain in ("", "ai.onnx"):
            return int(entry.version)
    raise ManifestError("model imports no default-domain (ai.onnx) opset")


def describe_onnx(data: bytes) -> ArtifactManifest:
    """Manifest of serialized ONNX bytes; raises ManifestError when they do not parse or fail the ONNX checker."""
    if not data:
        raise ManifestError("artifact is empty")
    try:
        model = onnx.load_model_from_string(data)
        onnx.checker.check_model(model)
    except Exception as error:  # onnx raises DecodeError, ValidationError and others without a common base
        raise ManifestError(f"not a valid ONNX model: {error}") from error
    initializers = {init.name for init in model.graph.initializer}
    return ArtifactManifest(
        digest=sha256_digest(data),
        size=len(data),
        opset=default_opset(model),
        ir_version=int(model.ir_version),
        producer=f"{model.producer_name} {model.producer_version}".strip(),
        # Initializers may also be listed as graph inputs in old IR versions; they are weights, not inputs.
        inputs=tuple(_signature(v) for v in model.graph.input if v.name not in initializers),
        outputs=tuple(_signature(v) for v in model.graph.output),
    )
