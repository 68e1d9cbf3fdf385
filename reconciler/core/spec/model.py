"""`models/<name>/model.yaml`: an ML model, its IO contract, features and released versions (kind Model)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from reconciler.core.spec.base import (
    Digest,
    Items,
    Metadata,
    Percent,
    PositiveMs,
    StrictModel,
    Timestamp,
    Version,
)
from reconciler.core.spec.zone import Target

DType = Literal["float32", "float16", "float64", "int64", "int32", "int8", "uint8", "bool", "string"]
Dim = int | Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


class Tensor(StrictModel):
    name: str = Field(min_length=1)
    dtype: DType
    shape: Items[Dim] = Field(description="-1 or a symbol (e.g. 'batch') for dynamic dimensions")


class Signature(StrictModel):
    inputs: Items[Tensor] = Field(min_length=1)
    outputs: Items[Tensor] = Field(min_length=1)


FeatureOp = Literal["last", "mean", "std", "min", "max", "sum", "count", "delta", "zscore"]


class Feature(StrictModel):
    name: str = Field(min_length=1)
    op: FeatureOp
    field: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _field_needed(self) -> Feature:
        if self.op != "count" and self.field is None:
            raise ValueError(f"feature {self.name!r}: op {self.op!r} needs a 'field'")
        if self.op == "count" and self.field is not None:
            raise ValueError(f"feature {self.name!r}: op 'count' takes no 'field'")
        return self


class Window(StrictModel):
    """The last `size` records per `key`; `features` is the model input vector, in order."""

    key: str = Field(min_length=1)
    size: int = Field(ge=1, le=4096)
    features: Items[Feature] = Field(min_length=1)


class Artifact(StrictModel):
    ref: str = Field(min_length=1, description="OCI reference, e.g. registry/models/fraud-scoring:1.2.0")
    digest: Digest
    size: int = Field(ge=0)
    placeholder: bool = Field(
        default=False, description="true while the digest is not yet a build's (cleared by compat or push)"
    )


CompatOutcome = Literal["pass", "fail", "not-run"]


class CompatResult(StrictModel):
    result: CompatOutcome
    runtime: str | None = Field(default=None, description="e.g. 'onnxruntime 1.32.0', 'onnxruntime-web 1.30.0'")
    provider: str | None = None
    max_abs_diff: float | None = Field(default=None, ge=0)
    latency_ms: float | None = Field(default=None, ge=0)
    checked_at: Timestamp | None = None
    reason: str | None = None


class Compat(StrictModel):
    cpu: CompatResult = Field(default_factory=lambda: CompatResult(result="not-run"))
    gpu: CompatResult = Field(default_factory=lambda: CompatResult(result="not-run"))
    wasm: CompatResult = Field(default_factory=lambda: CompatResult(result="not-run"))

    def for_target(self, target: Target) -> CompatResult:
        result: CompatResult = getattr(self, target)
        return result


class Flow(StrictModel):
    """A continuous-depth residual block (an ODE over the hidden layer) integrated with Euler steps."""

    train_steps: int = Field(ge=1, le=64, description="Euler steps while training")
    steps: int = Field(ge=1, le=100_000, description="Euler steps in the exported graph (its cost per batch)")


class BuildRecipe(StrictModel):
    """What a version's artifact is built from: `build.py` receives it (keys in snake_case) as `build_onnx(recipe)`,
    so each version rebuilds to its own digest."""

    seed: int = Field(ge=0, description="seeds the generated training data and the initial weights")
    samples: int = Field(ge=1, le=100_000, description="entities (cards, devices) generated for training")
    hidden: int = Field(ge=1, le=1024, description="hidden layer width")
    epochs: int = Field(ge=1, le=100_000, description="full-batch training steps")
    learning_rate: float = Field(default=0.05, gt=0, le=1)
    flow: Flow | None = None


class ModelVersion(StrictModel):
    version: Version
    format: Literal["onnx"] = "onnx"
    opset: int = Field(ge=7, le=30)
    build: BuildRecipe | None = Field(default=None, description="build inputs of this version (build.py's recipe)")
    artifact: Artifact
    compat: Compat = Field(default_factory=Compat)


class SloOverrides(StrictModel):
    p95_latency_ms: PositiveMs | None = None
    error_rate_percent: Percent | None = None


class ModelSpec(StrictModel):
    task: Literal["binary-classification", "anomaly-detection", "regression", "multiclass-classification"]
    description: str = ""
    signature: Signature
    window: Window
    tolerance: float = Field(default=1e-5, gt=0, description="max abs difference allowed across targets")
    slo: SloOverrides = Field(default_factory=SloOverrides)
    versions: Items[ModelVersion] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> ModelSpec:
        seen: set[str] = set()
        for v in self.versions:
            if v.version in seen:
                raise ValueError(f"version {v.version} is listed twice")
            seen.add(v.version)
        width = self.signature.inputs[0].shape[-1] if self.signature.inputs[0].shape else None
        if isinstance(width, int) and width != -1 and width != len(self.window.features):
            raise ValueError(
                f"the first input's last dimension is {width} but the window defines "
                f"{len(self.window.features)} features"
            )
        return self

    def version(self, version: str) -> ModelVersion | None:
        return next((v for v in self.versions if v.version == version), None)


class Model(StrictModel):
    api_version: Literal["edgeops.io/v1alpha1"]
    kind: Literal["Model"]
    metadata: Metadata
    spec: ModelSpec

    @property
    def name(self) -> str:
        return self.metadata.name
