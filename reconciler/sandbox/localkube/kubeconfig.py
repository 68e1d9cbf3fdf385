"""A kubeconfig with one context per zone (context, cluster and user all named after the zone), admin
credentials by file path. Written as JSON, which every kubeconfig reader accepts as YAML."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reconciler.sandbox.localkube.zone import LocalZone


def kubeconfig_document(zones: Sequence[LocalZone]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [
            {"name": z.name, "cluster": {"server": z.server, "certificate-authority": str(z.pki.ca_cert)}}
            for z in zones
        ],
        "users": [
            {
                "name": z.name,
                "user": {"client-certificate": str(z.pki.admin_cert), "client-key": str(z.pki.admin_key)},
            }
            for z in zones
        ],
        "contexts": [{"name": z.name, "context": {"cluster": z.name, "user": z.name}} for z in zones],
        "current-context": zones[0].name if zones else "",
    }


def write_kubeconfig(path: Path, zones: Sequence[LocalZone]) -> None:
    """Write atomically (a reader never sees half a file) and private (it points at admin keys)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(kubeconfig_document(zones), indent=2) + "\n")
    partial.chmod(0o600)
    os.replace(partial, path)
