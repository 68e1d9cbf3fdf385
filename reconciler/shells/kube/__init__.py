"""The Kubernetes API of one zone: server-side apply as field manager `edgeops`, dry-run apply, get, list by
label, delete, and the create/replace pair Leases need.

    client = ZoneClient.connect("ams-01", context="k3s-ams-01", kubeconfig=path)
    live = client.apply(obj, dry_run=True)

Errors (each chains the `kubernetes`/urllib3 exception it came from):

    KubeError                 base; `.status` is the HTTP status when the server answered
    ├── KubeConfigError       kubeconfig missing or unreadable, or no such context
    ├── Unreachable           connection refused/reset, TLS failure, timeout, 5xx, 429
    ├── Forbidden             401 / 403
    ├── NotFound              404 (no such object, or the kind's CRD is not installed)
    ├── Conflict              409 (field-manager conflict, stale resourceVersion, already exists)
    └── Invalid               400 / 422 (schema, immutable field, admission)
"""

from reconciler.shells.kube.client import FIELD_MANAGER, ZoneClient
from reconciler.shells.kube.errors import (
    Conflict,
    Forbidden,
    Invalid,
    KubeConfigError,
    KubeError,
    NotFound,
    Unreachable,
)
from reconciler.shells.kube.resources import KNOWN, Resource

__all__ = [
    "FIELD_MANAGER",
    "KNOWN",
    "Conflict",
    "Forbidden",
    "Invalid",
    "KubeConfigError",
    "KubeError",
    "NotFound",
    "Resource",
    "Unreachable",
    "ZoneClient",
]
