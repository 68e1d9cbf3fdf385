"""Per model and track: the runtime's ConfigMap, its workload, a metrics Service and a PodDisruptionBudget.

The workload is a Deployment, or for a partitioned assignment (`partitions`) a StatefulSet: each replica owns the
partitions p with p % replicas == its ordinal, so its pods need stable names `<name>-<ordinal>` (the runtime reads
the ordinal from the pod name, `EDGEOPS_ORDINAL`), and two pods with one ordinal never run at once. Pods start in
parallel (a replica does not wait for the one before it) and a rolling update replaces one pod at a time.
"""

from __future__ import annotations

import hashlib
from typing import Any

from reconciler.core.nats import USERS_SECRET, naming
from reconciler.core.render.labels import (
    ARCH_LABEL,
    CONFIG_HASH,
    GPU_RESOURCE,
    NAME,
    NODEPOOL_LABEL,
    PLACEHOLDER,
    RUNTIME_ACCOUNT,
    deployment_name,
    ownership_labels,
)
from reconciler.core.render.runtimecfg import CONFIG_DIR, CONFIG_FILE, METRICS_PORT, ORDINAL_ENV, track_replicas
from reconciler.core.spec import ModelAssignment, Zone
from runtime import RuntimeConfig

# Rolling updates: keep every serving replica until its replacement is ready (edge sites have little spare room,
# so maxSurge stays at one pod).
_ROLLING = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}


def config_map_name(model: str, track: str) -> str:
    return f"{deployment_name(model, track)}-runtime"


def selector(model: str, track: str) -> dict[str, str]:
    """Immutable once a Deployment exists: model and track only, never anything that may change."""
    return {NAME: model, "edgeops.io/track": track}


def config_map(zone: Zone, ns: str, model: str, track: str, config: RuntimeConfig) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": config_map_name(model, track),
            "namespace": ns,
            "labels": ownership_labels(zone.name, model, track),
        },
        "data": {CONFIG_FILE: config.model_dump_json(indent=2) + "\n"},
    }


def workload_kind(assignment: ModelAssignment) -> str:
    return "StatefulSet" if assignment.partitioned else "Deployment"


def workload(
    zone: Zone,
    ns: str,
    assignment: ModelAssignment,
    *,
    track: str,
    config_json: str,
    image: str,
    placeholder: bool,
) -> dict[str, Any]:
    """The track's Deployment, or StatefulSet when the assignment is partitioned (see the module docstring)."""
    model = assignment.model
    labels = ownership_labels(zone.name, model, track)
    annotations = {PLACEHOLDER: "true"} if placeholder else {}
    pod_spec = _pod_spec(zone, assignment, track, image)
    spec: dict[str, Any] = {
        "replicas": track_replicas(assignment, track),
        "revisionHistoryLimit": 3,
        "selector": {"matchLabels": selector(model, track)},
        "template": {
            "metadata": {
                "labels": {**labels, **selector(model, track)},
                # A changed runtime.json rolls the pods: the runtime reads its config once at start.
                "annotations": {CONFIG_HASH: _sha(config_json)},
            },
            "spec": pod_spec,
        },
    }
    if assignment.partitioned:
        spec |= {"podManagementPolicy": "Parallel", "updateStrategy": {"type": "RollingUpdate"}}
        pod_spec["containers"][0]["env"].append(
            {"name": ORDINAL_ENV, "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}
        )
    else:
        spec["strategy"] = _ROLLING
    return {
        "apiVersion": "apps/v1",
        "kind": workload_kind(assignment),
        "metadata": {
            "name": deployment_name(model, track),
            "namespace": ns,
            "labels": labels,
            "annotations": annotations,
        },
        "spec": spec,
    }


def _pod_spec(zone: Zone, assignment: ModelAssignment, track: str, image: str) -> dict[str, Any]:
    resources = assignment.resources
    requests = {"cpu": resources.cpu, "memory": resources.memory}
    limits: dict[str, Any] = {"memory": resources.memory}
    if resources.gpu and zone.spec.hardware.accelerator != "none":
        # Extended resources are requested through limits only; the device plugin counts whole devices.
        limits[GPU_RESOURCE] = str(resources.gpu)
    node_selector: dict[str, str] = {ARCH_LABEL: zone.spec.hardware.arch}
    if assignment.node_pool is not None:
        node_selector[NODEPOOL_LABEL] = assignment.node_pool
    probe_port = "metrics"
    return {
        "serviceAccountName": RUNTIME_ACCOUNT,
        "nodeSelector": node_selector,
        "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "fsGroup": 10001},
        "containers": [
            {
                "name": "runtime",
                "image": image,
                "command": ["edgeops", "serve", "--config", f"{CONFIG_DIR}/{CONFIG_FILE}"],
                # Traces and logs name the zone, model and track without reading the config first.
                "env": [
                    {"name": "OTEL_SERVICE_NAME", "value": "edgeops-runtime"},
                    {
                        "name": "OTEL_RESOURCE_ATTRIBUTES",
                        "value": f"edgeops.zone={zone.name},edgeops.model={assignment.model},edgeops.track={track}",
                    },
                    # The runtime's NATS password: from the Secret the zone's NATS server reads too, never from git.
                    {
                        "name": naming.PASSWORD_ENV[naming.RUNTIME_USER],
                        "valueFrom": {"secretKeyRef": {"name": USERS_SECRET, "key": f"{naming.RUNTIME_USER}-password"}},
                    },
                ],
                "ports": [{"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"}],
                "resources": {"requests": requests, "limits": limits},
                "readinessProbe": {"httpGet": {"path": "/readyz", "port": probe_port}, "periodSeconds": 5},
                "livenessProbe": {
                    "httpGet": {"path": "/healthz", "port": probe_port},
                    "periodSeconds": 10,
                    # Pulling the model artifact happens before /healthz answers; give it time.
                    "initialDelaySeconds": 30,
                },
                "securityContext": {
                    "allowPrivilegeEscalation": False,
                    "readOnlyRootFilesystem": True,
                    "capabilities": {"drop": ["ALL"]},
                },
                "volumeMounts": [
                    {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
                    {"name": "state", "mountPath": "/var/lib/edgeops"},
                ],
            }
        ],
        "volumes": [
            {"name": "config", "configMap": {"name": config_map_name(assignment.model, track)}},
            {"name": "state", "emptyDir": {}},
        ],
    }


def metrics_service(zone: Zone, ns: str, model: str, track: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": f"{deployment_name(model, track)}-metrics",
            "namespace": ns,
            "labels": ownership_labels(zone.name, model, track),
        },
        "spec": {
            "selector": selector(model, track),
            "ports": [{"name": "metrics", "port": METRICS_PORT, "targetPort": "metrics", "protocol": "TCP"}],
        },
    }


def disruption_budget(zone: Zone, ns: str, model: str, track: str) -> dict[str, Any]:
    # maxUnavailable (not minAvailable) so a one-replica model never blocks a node drain forever.
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {
            "name": deployment_name(model, track),
            "namespace": ns,
            "labels": ownership_labels(zone.name, model, track),
        },
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector(model, track)}},
    }


def _sha(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:32]
