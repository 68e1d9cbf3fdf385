"""The desired-state language: pydantic v2 models for every document kind (strict, versioned, immutable).

Documents are Kubernetes-shaped (`apiVersion: edgeops.io/v1alpha1`, `kind`, `metadata`, `spec`) and written in
camelCase. `FleetSpec` is the aggregate the loader returns.
"""

from reconciler.core.spec.base import API_VERSION, MaintenanceWindow, Metadata, SecretRef, StrictModel
from reconciler.core.spec.fleet import Fleet, Region, SloTargets
from reconciler.core.spec.fleetspec import FleetSpec
from reconciler.core.spec.model import Artifact, Compat, CompatResult, Feature, Model, ModelVersion, Window
from reconciler.core.spec.policy import CanaryPolicy
from reconciler.core.spec.zone import Canary, Hardware, ModelAssignment, Target, Zone

KINDS: dict[str, type[StrictModel]] = {"Fleet": Fleet, "CanaryPolicy": CanaryPolicy, "Zone": Zone, "Model": Model}

__all__ = [
    "API_VERSION",
    "KINDS",
    "Artifact",
    "Canary",
    "CanaryPolicy",
    "Compat",
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
    "Region",
    "SecretRef",
    "SloTargets",
    "StrictModel",
    "Target",
    "Window",
    "Zone",
]
