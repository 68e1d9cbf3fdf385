"""`zones/<region>/<zone>.yaml`: one edge site, a K3s cluster, and the models it serves (kind Zone)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from reconciler.core.spec.base import (
    Items,
    MaintenanceWindow,
    Metadata,
    Name,
    SecretRef,
    StrictModel,
    Subject,
    Timestamp,
    Version,
)

Target = Literal["cpu", "gpu", "wasm"]

_QUANTITY = re.compile(r"^([0-9]+(\.[0-9]+)?)(m|Ki|Mi|Gi|Ti|k|M|G|T)?$")


def _quantity(value: str) -> str:
    if not _QUANTITY.match(value):
        raise ValueError(f"{value!r} is not a Kubernetes quantity such as '500m', '2' or '512Mi'")
    return value


Quantity = Annotated[str, AfterValidator(_quantity)]


class ClusterRef(StrictModel):
    """How the reconciler reaches the zone's API server. Names only: credentials come from the kubeconfig."""

    context: str | None = Field(default=None, min_length=1, description="kubeconfig context name")
    server: Annotated[str, Field(pattern=r"^https://[^\s@/]+(:\d+)?/?$")] | None = Field(
        default=None, description="API server URL (https, no user info)"
    )

    @model_validator(mode="after")
    def _one_or_both(self) -> ClusterRef:
        if self.context is None and self.server is None:
            raise ValueError("a cluster reference needs a kubeconfig context, an API server URL, or both")
        return self


class Hardware(StrictModel):
    arch: Literal["amd64", "arm64"]
    accelerator: Literal["none", "nvidia-gpu", "jetson"] = "none"
    runtime: Literal["native", "wasm"] = Field(
        default="native", description="'wasm' for sites that run models in a WebAssembly sandbox"
    )
    fallback: Literal["none", "cpu"] = Field(
        default="none",
        description="on GPU sites: 'cpu' accepts model versions verified on CPU only (served on the CPU provider)",
    )

    @property
    def target(self) -> Target:
        """The compatibility-matrix column a model version must pass to run here."""
        if self.runtime == "wasm":
            return "wasm"
        return "cpu" if self.accelerator == "none" else "gpu"


class NodePool(StrictModel):
    """An OpenYurt NodePool: nodes of one site, optionally kept running when the cloud link is down."""

    name: Name
    type: Literal["Edge", "Cloud"] = "Edge"
    labels: dict[str, str] = Field(default_factory=dict)
    autonomy: bool = Field(default=True, description="keep pods running while disconnected from the cloud")


class Leafnode(StrictModel):
    hub: str | None = Field(default=None, description="override of the region's hub URL")
    credentials: SecretRef | None = None


class ZoneNats(StrictModel):
    domain: Name = Field(description="JetStream domain of the zone's server")
    leafnode: Leafnode = Field(default_factory=Leafnode)


class Resources(StrictModel):
    cpu: Quantity = "500m"
    memory: Quantity = "512Mi"
    gpu: int = Field(default=0, ge=0)


class Canary(StrictModel):
    version: Version
    weight: int = Field(ge=0, le=100, description="share of live traffic in percent; 0 in the shadow phase")
    policy: Name | None = Field(default=None, description="default: the fleet's default canary policy")
    phase: Literal["shadow", "live"] = "shadow"
    started_at: Timestamp
    step_started_at: Timestamp | None = Field(
        default=None,
        description="when the current phase and weight took effect (written by the step's pull request); "
        "a step advances only on evidence gathered since. Default: startedAt",
    )

    @property
    def step_started(self) -> datetime:
        """Since when the canary runs at its current phase and weight: a block without `stepStartedAt` (written
        by hand, or before the field existed) is taken to be at the step it started with."""
        return self.step_started_at or self.started_at

    @model_validator(mode="after")
    def _step_after_start(self) -> Canary:
        step, start = self.step_started_at, self.started_at
        if step is not None and step < start:  # both aware: a Timestamp has a time zone
            raise ValueError(f"stepStartedAt {step.isoformat()} is before startedAt {start.isoformat()}")
        return self

    @model_validator(mode="after")
    def _shadow_has_no_weight(self) -> Canary:
        if self.phase == "shadow" and self.weight != 0:
            raise ValueError("a canary in the shadow phase receives no live traffic: weight must be 0")
        if self.phase == "live" and self.weight == 0:
            raise ValueError("a live canary needs a weight above 0 (use phase: shadow for 0)")
        return self


# What a window key must look like (the runtime's field names): with partitions its values travel as a subject token.
FIELD_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
MAX_PARTITIONS = 1024


class ModelAssignment(StrictModel):
    model: Name
    version: Version = Field(description="the stable version")
    replicas: int = Field(default=1, ge=0, le=100)
    partitions: int | None = Field(
        default=None,
        ge=1,
        le=MAX_PARTITIONS,
        description="split the input into this many partitions by window key, so that replicas share keys, never a "
        "key's window; needed for replicas above 1, and at least the replicas. Sensors then publish each record "
        "to '<input>.<key>' (the window key's value as the subject's last token)",
    )
    resources: Resources = Field(default_factory=Resources)
    input: Subject
    output: Subject
    window_key: str | None = Field(
        default=None, pattern=FIELD_NAME, max_length=64, description="default: the model's window key"
    )
    node_pool: Name | None = Field(default=None, description="OpenYurt pool to run on; default: any node")
    canary: Canary | None = None

    @model_validator(mode="after")
    def _canary_differs(self) -> ModelAssignment:
        if self.canary is not None and self.canary.version == self.version:
            raise ValueError(f"canary version {self.version} equals the stable version")
        if self.input == self.output:
            raise ValueError("input and output subjects must differ")
        return self

    @model_validator(mode="after")
    def _replicas_share_keys(self) -> ModelAssignment:
        if self.partitions is None and self.replicas > 1:
            raise field_error(
                "replicas",
                self.replicas,
                "schema.replicas-without-partitions",
                f"model {self.model!r}: replicas: {self.replicas} without partitions would split every key's window "
                "between the replicas (each sees only some of a key's records, so counts, means and gaps are "
                f"wrong); set partitions (at least {self.replicas}, e.g. 12) and have sensors publish each record to "
                f"'{self.input}.<key>' (the window key's value as the subject's last token)",
            )
        if self.partitions is not None and self.replicas > self.partitions:
            raise field_error(
                "partitions",
                self.partitions,
                "schema.more-replicas-than-partitions",
                f"model {self.model!r}: {self.replicas} replicas but {self.partitions} partitions; a partition is "
                "owned by one replica, so a replica without one would idle: use at least as many partitions",
            )
        return self

    @property
    def partitioned(self) -> bool:
        """Scaled out by key: sensors publish `<input>.<key>` and each replica owns a stable set of partitions."""
        return self.partitions is not None


def field_error(field: str, value: object, code: str, message: str) -> ValidationError:
    """A rule of the whole assignment reported at one of its keys, with its own problem code (the loader uses
    `code` as the problem's code and the key's line and column as its position)."""
    error = PydanticCustomError(code, "{message}", {"message": message})
    return ValidationError.from_exception_data(
        "ModelAssignment", [InitErrorDetails(type=error, loc=(field,), input=value)]
    )


class ZoneSpec(StrictModel):
    region: Name
    cluster: ClusterRef
    hardware: Hardware
    node_pools: Items[NodePool] = ()
    nats: ZoneNats
    paused: bool = Field(default=False, description="reconcile nothing here (rollbacks still apply)")
    maintenance_windows: Items[MaintenanceWindow] = ()
    models: Items[ModelAssignment] = ()


class Zone(StrictModel):
    api_version: Literal["edgeops.io/v1alpha1"]
    kind: Literal["Zone"]
    metadata: Metadata
    spec: ZoneSpec

    @property
    def name(self) -> str:
        return self.metadata.name

    def assignment(self, model: str) -> ModelAssignment | None:
        return next((a for a in self.spec.models if a.model == model), None)
