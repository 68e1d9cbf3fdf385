"""render: the desired state of a zone as Kubernetes objects (pure, deterministic, hash-annotated).

rendered = render_zone(spec, zone, revision)        # RenderedZone: manifests in apply order
for manifest in rendered: manifest.to_yaml()        # byte-identical for the same input
"""

from reconciler.core.render.labels import (
    CONTENT_HASH,
    DEFAULT_NAMESPACE,
    EVERY_TRACK,
    INVENTORY,
    MANAGED_BY,
    MANAGED_BY_VALUE,
    MODEL,
    REVISION,
    TRACK,
    ZONE,
    held_track,
    is_ours,
    ownership_labels,
)
from reconciler.core.render.manifest import Manifest, ObjectRef, Stage, canonical_json, make_manifest, to_yaml
from reconciler.core.render.paused import PausedView, paused_view, rolled_back
from reconciler.core.render.reconcilerrbac import parse_subject, reconciler_rbac
from reconciler.core.render.runtimecfg import runtime_config
from reconciler.core.render.zone import (
    RenderedZone,
    RenderError,
    RenderOptions,
    apply_order,
    render_region,
    render_zone,
    stage_of,
    zones_of,
)

__all__ = [
    "CONTENT_HASH",
    "DEFAULT_NAMESPACE",
    "EVERY_TRACK",
    "INVENTORY",
    "MANAGED_BY",
    "MANAGED_BY_VALUE",
    "MODEL",
    "REVISION",
    "TRACK",
    "ZONE",
    "Manifest",
    "ObjectRef",
    "PausedView",
    "RenderError",
    "RenderOptions",
    "RenderedZone",
    "Stage",
    "apply_order",
    "canonical_json",
    "held_track",
    "is_ours",
    "make_manifest",
    "ownership_labels",
    "parse_subject",
    "paused_view",
    "reconciler_rbac",
    "render_region",
    "render_zone",
    "rolled_back",
    "runtime_config",
    "stage_of",
    "to_yaml",
    "zones_of",
]
