"""The reconciler's own least-privilege RBAC in one zone, applied once per zone by an administrator (the reconciler
never grants itself anything): exactly what it needs to apply, read health, prune and hold its Lease.

    Namespace <ns>                        created here, so the Role below has a home
    ClusterRole/Binding edgeops-reconciler:<ns>
        namespaces           get, create, patch                  only <ns> (by name)
        apps.openyurt.io nodepools   get, create, patch, delete  the only cluster-scoped kind it manages
    Role/RoleBinding edgeops-reconciler in <ns>
        every kind it renders there        get, create, patch, delete   (a removed model's kinds stay prunable)
        configmaps also watch: the runtime's Role grants get/watch on ConfigMaps, and Kubernetes lets a subject
        create a Role (and bind it) only with permissions it holds itself, so no `bind`/`escalate` is needed
    Role/RoleBinding edgeops-reconciler-lease in <lease namespace>   (only in the cluster holding the Lease)
        leases               get, update (its Lease by name), create

No Secrets, no list or watch across the cluster, no other namespace.
"""

from __future__ import annotations

from typing import Any

from reconciler.core.render.labels import ownership_labels

RECONCILER = "edgeops-reconciler"
_RBAC = "rbac.authorization.k8s.io"
WRITES = ["get", "create", "patch", "delete"]
# (api group, resource) of every namespaced kind the reconciler renders (render/zone.py's kinds)
NAMESPACED = (
    ("", "configmaps"),
    ("", "services"),
    ("", "serviceaccounts"),
    ("apps", "deployments"),
    ("apps", "statefulsets"),
    ("policy", "poddisruptionbudgets"),
    (_RBAC, "roles"),
    (_RBAC, "rolebindings"),
    ("helm.cattle.io", "helmcharts"),
)


def parse_subject(text: str) -> dict[str, str]:
    """`user:NAME`, `group:NAME` or `serviceaccount:NAMESPACE:NAME` as an RBAC subject."""
    kind, _, rest = text.partition(":")
    if kind == "serviceaccount" and rest.count(":") == 1 and all(rest.split(":")):
        namespace, name = rest.split(":")
        return {"kind": "ServiceAccount", "namespace": namespace, "name": name}
    if kind in ("user", "group") and rest:
        return {"apiGroup": _RBAC, "kind": kind.capitalize(), "name": rest}
    raise ValueError(f"subject {text!r}: expected user:NAME, group:NAME or serviceaccount:NAMESPACE:NAME")


def _rule(group: str, resource: str, verbs: list[str], names: list[str] | None = None) -> dict[str, Any]:
    rule: dict[str, Any] = {"apiGroups": [group], "resources": [resource], "verbs": verbs}
    if names:
        rule["resourceNames"] = names
    return rule


def _binding(kind: str, name: str, namespace: str | None, role_kind: str, subject: dict[str, str]) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if namespace is not None:
        metadata["namespace"] = namespace
    return {
        "apiVersion": f"{_RBAC}/v1",
        "kind": kind,
        "metadata": metadata,
        "roleRef": {"apiGroup": _RBAC, "kind": role_kind, "name": name},
        "subjects": [subject],
    }


def reconciler_rbac(
    zone: str, namespace: str, subject: dict[str, str], lease: tuple[str, str] | None = None
) -> list[dict[str, Any]]:
    """The objects to apply once in `zone`'s cluster; `lease` (namespace, name) where that cluster holds it."""
    cluster_name = f"{RECONCILER}:{namespace}"
    rules = [_rule(group, resource, WRITES) for group, resource in NAMESPACED]
    rules[0]["verbs"] = [*WRITES, "watch"]  # configmaps: see the module docstring
    objects: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": namespace, "labels": ownership_labels(zone)},
        },
        {
            "apiVersion": f"{_RBAC}/v1",
            "kind": "ClusterRole",
            "metadata": {"name": cluster_name},
            "rules": [
                _rule("", "namespaces", ["get", "create", "patch"], [namespace]),
                _rule("apps.openyurt.io", "nodepools", WRITES),
            ],
        },
        _binding("ClusterRoleBinding", cluster_name, None, "ClusterRole", subject),
        {
            "apiVersion": f"{_RBAC}/v1",
            "kind": "Role",
            "metadata": {"name": RECONCILER, "namespace": namespace},
            "rules": rules,
        },
        _binding("RoleBinding", RECONCILER, namespace, "Role", subject),
    ]
    if lease is not None:
        lease_namespace, lease_name = lease
        name = f"{RECONCILER}-lease"
        objects += [
            {
                "apiVersion": f"{_RBAC}/v1",
                "kind": "Role",
                "metadata": {"name": name, "namespace": lease_namespace},
                "rules": [
                    _rule("coordination.k8s.io", "leases", ["get", "update"], [lease_name]),
                    _rule("coordination.k8s.io", "leases", ["create"]),
                ],
            },
            _binding("RoleBinding", name, lease_namespace, "Role", subject),
        ]
    return objects
