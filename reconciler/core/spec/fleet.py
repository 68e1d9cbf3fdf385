"""`fleet/fleet.yaml`: the fleet-wide document (kind Fleet)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import Field, model_validator

from reconciler.core.spec.base import (
    Duration,
    Items,
    MaintenanceWindow,
    Metadata,
    Name,
    Percent,
    PositiveMs,
    StrictModel,
)
from reconciler.core.spec.notifications import Notifications


class TrustedKeyRef(StrictModel):
    """Where trusted public keys are read from: a file of this repository, or one on the reconciler's host."""

    path: str | None = Field(
        default=None, description="a file of this repository, e.g. fleet/keys/allowed_signers (repository-relative)"
    )
    file: str | None = Field(
        default=None, description="an absolute path on the reconciler's host, e.g. a mounted Secret's file"
    )

    @model_validator(mode="after")
    def _one_place(self) -> TrustedKeyRef:
        if (self.path is None) == (self.file is None):
            raise ValueError("set exactly one of 'path' (in this repository) and 'file' (on the reconciler's host)")
        if self.path is not None and (
            self.path.startswith("/") or ".." in self.path.split("/") or not self.path.strip("/")
        ):
            raise ValueError(f"path {self.path!r} must be relative to the repository root, without '..'")
        if self.file is not None and not self.file.startswith("/"):
            raise ValueError(f"file {self.file!r} must be an absolute path")
        return self


class CommitVerification(StrictModel):
    trusted_keys: Items[TrustedKeyRef] = Field(
        min_length=1,
        description="files of SSH allowed signers or OpenPGP public keys; a commit signed by any of them is applied",
    )


class GitSource(StrictModel):
    url: str = Field(min_length=1, description="clone URL of this repository (https, ssh or a local path)")
    branch: str = Field(default="main", min_length=1)
    verify: CommitVerification | None = Field(
        default=None, description="apply only commits signed by a trusted key (see docs/commit-signing.md)"
    )


class ReconcileSettings(StrictModel):
    interval: Duration = timedelta(seconds=30)
    concurrency: int = Field(default=4, ge=1, le=256, description="zones reconciled at once")


# A public key file in the repository (never a private key: the loader refuses those anywhere in fleet/).
KeyPath = Annotated[str, Field(pattern=r"^fleet/keys/[A-Za-z0-9][A-Za-z0-9._-]{0,99}\.pub$")]


class Region(StrictModel):
    name: Name
    registry: str = Field(min_length=1, description="OCI registry (host[:port]/path) the edge pulls models from")
    nats_hub: str = Field(min_length=1, description="leafnode URL of the region's NATS hub, e.g. nats-leaf://hub:7422")
    reconcile: ReconcileSettings = Field(default_factory=ReconcileSettings)
    model_signing_keys: Items[KeyPath] = Field(
        default=(),
        description=(
            "cosign public keys (fleet/keys/NAME.pub, PEM, ECDSA P-256) the region's edge trusts: when any is "
            "given, a model artifact is served only if one of them signed it; none: artifacts run unverified"
        ),
    )


class SloTargets(StrictModel):
    p95_latency_ms: PositiveMs
    error_rate_percent: Percent


class FleetSpecBody(StrictModel):
    git: GitSource
    regions: Items[Region] = Field(min_length=1)
    slo: SloTargets
    default_canary_policy: Name
    maintenance_windows: Items[MaintenanceWindow] = ()
    notifications: Notifications = Field(default_factory=Notifications)


class Fleet(StrictModel):
    api_version: Literal["edgeops.io/v1alpha1"]
    kind: Literal["Fleet"]
    metadata: Metadata
    spec: FleetSpecBody

    def region(self, name: str) -> Region | None:
        return next((r for r in self.spec.regions if r.name == name), None)
