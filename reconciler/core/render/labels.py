"""Label and annotation keys every rendered object carries, and the names of the objects we render."""

from __future__ import annotations

MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "edgeops"
NAME = "app.kubernetes.io/name"
ZONE = "edgeops.io/zone"
MODEL = "edgeops.io/model"
TRACK = "edgeops.io/track"
REVISION = "edgeops.io/revision"
CONTENT_HASH = "edgeops.io/content-hash"
CONFIG_HASH = "edgeops.io/config-hash"
PLACEHOLDER = "edgeops.io/artifact-placeholder"
NODEPOOL_LABEL = "apps.openyurt.io/nodepool"
ARCH_LABEL = "kubernetes.io/arch"
GPU_RESOURCE = "nvidia.com/gpu"

DEFAULT_NAMESPACE = "edgeops"
RUNTIME_ACCOUNT = "edgeops-runtime"
INVENTORY = "edgeops-inventory"
NATS_RELEASE = "nats"

# Zone-wide objects (Namespace, RBAC, NodePools, NATS) carry an empty model label: a valid label value that no
# model name (a non-empty DNS label) can collide with; `edgeops.io/model=` selects them.
ZONE_WIDE = ""


def ownership_labels(zone: str, model: str = ZONE_WIDE, track: str | None = None) -> dict[str, str]:
    labels = {MANAGED_BY: MANAGED_BY_VALUE, ZONE: zone, MODEL: model}
    if track is not None:
        labels[TRACK] = track
    return labels


def is_ours(labels: dict[str, str] | None) -> bool:
    """Ownership is the managed-by label: objects without it are never changed or deleted without --adopt."""
    return (labels or {}).get(MANAGED_BY) == MANAGED_BY_VALUE


# Held tracks when which ones hold records is unknown (NATS could not be read): every track's objects are held.
EVERY_TRACK: frozenset[tuple[str, str]] = frozenset({("*", "*")})


def held_track(labels: dict[str, str] | None, tracks: frozenset[tuple[str, str]]) -> bool:
    """Whether an object belongs to one of `tracks` ((model, track) pairs; `EVERY_TRACK`: any) by the labels every
    object of a model's track carries (`ownership_labels`); zone-wide objects never do."""
    found = labels or {}
    model, track = found.get(MODEL), found.get(TRACK)
    return bool(model) and track is not None and (tracks is EVERY_TRACK or (model, track) in tracks)


def deployment_name(model: str, track: str) -> str:
    return model if track == "stable" else f"{model}-{track}"
