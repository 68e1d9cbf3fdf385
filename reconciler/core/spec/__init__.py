"""The desired-state language: pydantic v2 models for every document kind (strict, versioned, immutable).

Documents are Kubernetes-shaped (`apiVersion: edgeops.io/v1alpha1`, `kind`, `metadata`, `spec`) and written in
camelCase. `FleetSpec` is the aggregate the loader returns.
"""

from reconciler.core.spec.base import (
    API_VERSION,
    MaintenanceWindow,
    Metadata,
    SecretRef,
    StrictModel,
    Version,
    parse_duration,
)
from reconciler.core.spec.fleet import CommitVerification, Fleet, Region, SloTargets, TrustedKeyRef
from reconciler.core.spec.fleetspec import FleetSpec
from reconciler.core.spec.jsonschema import json_schemas
from reconciler.core.spec.model import (
    Artifact,
    BuildRecipe,
    Compat,
    CompatOutcome,
    CompatResult,
    Feature,
    Model,
    ModelVersion,
    Signature,
    Tensor,
    Window,
)
from reconciler.core.spec.notifications import (
    EVENTS,
    CloudEventsTarget,
    Notifications,
    NotificationTarget,
    WebhookTarget,
)
from reconciler.core.spec.policy import CanaryPolicy, CanaryPolicySpec
from reconciler.core.spec.zone import Canary, Hardware, ModelAssignment, NodePool, Target, Zone

KINDS: dict[str, type[StrictModel]] = {"Fleet": Fleet, "CanaryPolicy": CanaryPolicy, "Zone": Zone, "Model": Model}

__all__ = [
    "API_VERSION",
    "EVENTS",
    "KINDS",
    "Artifact",
    "BuildRecipe",
    "Canary",
    "CanaryPolicy",
    "CanaryPolicySpec",
    "CloudEventsTarget",
    "CommitVerification",
    "Compat",
    "CompatOutcome",
    "CompatResult",
    "Feature",
    "Fleet",
    "FleetSpec",
    "Hardware",
    "MaintenanceWindow",
    "Metadata",
    "Model",
    "ModelAssignment",
    "ModelVersion",
    "NodePool",
    "NotificationTarget",
    "Notifications",
    "Region",
    "SecretRef",
    "Signature",
    "SloTargets",
    "StrictModel",
    "Target",
    "Tensor",
    "TrustedKeyRef",
    "Version",
    "WebhookTarget",
    "Window",
    "Zone",
    "json_schemas",
    "parse_duration",
]
