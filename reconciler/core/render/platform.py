"""Zone-wide objects: the namespace, the runtime's least-privilege identity, OpenYurt NodePools and the zone's
NATS server as a K3s HelmChart."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.core.nats import CHART, CHART_REPO, helm_values
from reconciler.core.render.labels import NATS_RELEASE, RUNTIME_ACCOUNT, ownership_labels
from reconciler.core.render.manifest import to_yaml
from reconciler.core.spec import FleetSpec, NodePool, Zone

NATS_CHART_VERSION = "1.3.6"


def namespace(zone: Zone, name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": ownership_labels(zone.name)}}


def service_account(zone: Zone, ns: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": RUNTIME_ACCOUNT, "namespace": ns, "labels": ownership_labels(zone.name)},
        # The runtime reads its config from a mounted volume; it only needs a token for the Role below.
        "automountServiceAccountToken": True,
    }


def role(zone: Zone, ns: str, config_maps: tuple[str, ...]) -> dict[str, Any]:
    """The runtime may read its own ConfigMaps (by name) and nothing else: no list, no writes, no secrets."""
    rules: list[dict[str, Any]] = []
    if config_maps:
        rules.append(
            {
                "apiGroups": [""],
                "resources": ["configmaps"],
                "resourceNames": sorted(config_maps),
                "verbs": ["get", "watch"],
            }
        )
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": RUNTIME_ACCOUNT, "namespace": ns, "labels": ownership_labels(zone.name)},
        "rules": rules,
    }


def role_binding(zone: Zone, ns: str) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": RUNTIME_ACCOUNT, "namespace": ns, "labels": ownership_labels(zone.name)},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": RUNTIME_ACCOUNT},
        "subjects": [{"kind": "ServiceAccount", "name": RUNTIME_ACCOUNT, "namespace": ns}],
    }


def node_pool(zone: Zone, pool: NodePool) -> dict[str, Any]:
    spec: dict[str, Any] = {"type": pool.type}
    if pool.labels:
        spec["labels"] = dict(pool.labels)
    return {
        "apiVersion": "apps.openyurt.io/v1beta2",
        "kind": "NodePool",
        "metadata": {
            "name": pool.name,
            "labels": ownership_labels(zone.name),
            # OpenYurt's switch for keeping pods running on nodes that lose the cloud link.
            "annotations": {"nodepool.openyurt.io/node-autonomy": str(pool.autonomy).lower()},
        },
        "spec": spec,
    }


def nats_helm_chart(spec: FleetSpec, zone: Zone, ns: str, values: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "helm.cattle.io/v1",
        "kind": "HelmChart",
        "metadata": {"name": NATS_RELEASE, "namespace": ns, "labels": ownership_labels(zone.name)},
        "spec": {
            "chart": CHART,
            "repo": CHART_REPO,
            "version": NATS_CHART_VERSION,
            "targetNamespace": ns,
            # valuesContent (a YAML string) is what every K3s helm-controller release understands.
            "valuesContent": to_yaml(dict(values)),
        },
    }


def nats_values(spec: FleetSpec, zone: Zone) -> dict[str, Any]:
    """The chart values come from the NATS package, which owns the zone server's config."""
    return dict(helm_values(spec, zone))
