"""Where a kind lives in the API: (apiVersion, kind) → URL path, without discovery for the kinds we render.

Discovery for every zone on every pass would double the requests of a quiet pass; the kinds edgeops writes are
fixed, so they are listed here, and anything else is looked up once per client through the API's discovery
document.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Resource:
    api_version: str
    kind: str
    plural: str
    namespaced: bool

    def collection_path(self, namespace: str = "") -> str:
        base = f"/api/{self.api_version}" if "/" not in self.api_version else f"/apis/{self.api_version}"
        if self.namespaced and namespace:
            return f"{base}/namespaces/{namespace}/{self.plural}"
        return f"{base}/{self.plural}"

    def object_path(self, namespace: str, name: str) -> str:
        return f"{self.collection_path(namespace if self.namespaced else '')}/{name}"


KNOWN: dict[tuple[str, str], Resource] = {
    (r.api_version, r.kind): r
    for r in (
        Resource("v1", "Namespace", "namespaces", False),
        Resource("v1", "ServiceAccount", "serviceaccounts", True),
        Resource("v1", "ConfigMap", "configmaps", True),
        Resource("v1", "Service", "services", True),
        Resource("v1", "Pod", "pods", True),
        Resource("v1", "Node", "nodes", False),
        Resource("apps/v1", "Deployment", "deployments", True),
        Resource("apps/v1", "ReplicaSet", "replicasets", True),
        Resource("apps/v1", "StatefulSet", "statefulsets", True),
        Resource("policy/v1", "PodDisruptionBudget", "poddisruptionbudgets", True),
        Resource("rbac.authorization.k8s.io/v1", "Role", "roles", True),
        Resource("rbac.authorization.k8s.io/v1", "RoleBinding", "rolebindings", True),
        Resource("coordination.k8s.io/v1", "Lease", "leases", True),
        Resource("apps.openyurt.io/v1beta2", "NodePool", "nodepools", False),
        Resource("helm.cattle.io/v1", "HelmChart", "helmcharts", True),
    )
}
