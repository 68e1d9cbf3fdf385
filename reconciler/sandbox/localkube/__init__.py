"""Local Kubernetes zone clusters on loopback, for integration tests and the sandbox.

Each zone is the real control plane K3s embeds, built by `tests/env/install-kube.sh`: kine (storage,
`memory://` or SQLite), kube-apiserver with TLS, client-certificate and static-token authentication and
`--authorization-mode=RBAC`, kube-controller-manager and kube-scheduler. Every zone has its own CA, its own
admin client certificate (group `system:masters`), service-account signing keys, a namespace `limited` that the
token user `edgeops-limited` may use and nothing else, and the NodePool and HelmChart CRDs.

    with LocalKube() as kube:
        east, west = kube.start_zones(["east", "west"])
        kube.kubeconfig          # one file, context name = zone name
        east.stop(); east.start()   # apiserver down and up on the same port, storage kept

Processes run in their own process groups; `close()` (and, as a last resort, interpreter exit) stops them.
Logs stay in `<workdir>/zones/<zone>/logs/`; `failure_report()` returns their tails.

Errors:

    LocalKubeError
    ├── BinariesMissing        kube or kine not built (message says how to build them)
    ├── ZoneStartError         a process exited or was not ready in time (message carries its log tail)
    │   └── PortInUse          a restarted apiserver's port was taken meanwhile
    ├── ApiRequestError        a bootstrap request (RBAC objects, CRDs) failed; `.status` is the HTTP status
    └── CrdSourceError         a CRD file is missing, unreadable or not a CRD (message names the file)
"""

from __future__ import annotations

from reconciler.sandbox.localkube.binaries import KubeBinaries, find_binaries
from reconciler.sandbox.localkube.crds import FALLBACK_CRD_DIR, UPSTREAM_CRD_DIR, default_crd_dir, load_crds
from reconciler.sandbox.localkube.env import LocalKube
from reconciler.sandbox.localkube.errors import (
    ApiRequestError,
    BinariesMissing,
    CrdSourceError,
    LocalKubeError,
    PortInUse,
    ZoneStartError,
)
from reconciler.sandbox.localkube.zone import LIMITED_USER, LocalZone, ZoneOptions

__all__ = [
    "FALLBACK_CRD_DIR",
    "LIMITED_USER",
    "UPSTREAM_CRD_DIR",
    "ApiRequestError",
    "BinariesMissing",
    "CrdSourceError",
    "KubeBinaries",
    "LocalKube",
    "LocalKubeError",
    "LocalZone",
    "PortInUse",
    "ZoneOptions",
    "ZoneStartError",
    "default_crd_dir",
    "find_binaries",
    "load_crds",
]
