"""Comparing a desired object with the live one, the way `kubectl diff` does with server-side apply.

The server's dry-run answer (desired applied over live: defaults filled, other managers' fields kept) is compared
with the live object, both stripped of what the server or the system writes and nobody declares: managedFields,
status, resourceVersion, uid, timestamps, generation, and our own `edgeops.io/revision` annotation (so a commit
that leaves an object's content alone does not rewrite it).
"""

from __future__ import annotations

import difflib
from typing import Any

from reconciler.core.render import REVISION, to_yaml

SERVER_SET_METADATA = (
    "managedFields",
    "resourceVersion",
    "uid",
    "creationTimestamp",
    "generation",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)
SERVER_SET_ANNOTATIONS = (
    REVISION,
    "kubectl.kubernetes.io/last-applied-configuration",
    "deployment.kubernetes.io/revision",
)


def strip(obj: dict[str, Any] | None) -> dict[str, Any]:
    """A copy without status and server-set metadata; {} for None. Shallow below `metadata`: nothing nested is
    changed, and a deep copy of every object would dominate a plan's time."""
    if not obj:
        return {}
    stripped = {k: v for k, v in obj.items() if k != "status"}
    meta = dict(stripped.get("metadata", {}))
    stripped["metadata"] = meta
    for key in SERVER_SET_METADATA:
        meta.pop(key, None)
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k not in SERVER_SET_ANNOTATIONS}
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    if not meta.get("labels"):
        meta.pop("labels", None)
    return stripped


def differs(live: dict[str, Any] | None, merged: dict[str, Any] | None) -> bool:
    return strip(live) != strip(merged)


def unified_diff(before: dict[str, Any] | None, after: dict[str, Any] | None, name: str) -> str:
    """Unified diff of the stripped objects as YAML ('' when equal)."""
    old = to_yaml(strip(before)).splitlines(keepends=True) if before else []
    new = to_yaml(strip(after)).splitlines(keepends=True) if after else []
    lines = difflib.unified_diff(old, new, fromfile=f"live/{name}", tofile=f"desired/{name}", n=3)
    return "".join(lines)
