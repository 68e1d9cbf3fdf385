"""render: (FleetSpec, zone, revision) → the zone's Kubernetes objects, sealed, in apply order.

Pure and deterministic: the same input gives byte-identical YAML. Objects are ordered by stage, then kind,
namespace and name, so files, plans and applies always list them the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from reconciler.core.render import platform, workloads
from reconciler.core.render.labels import DEFAULT_NAMESPACE
from reconciler.core.render.manifest import Manifest, Stage, make_manifest
from reconciler.core.render.runtimecfg import runtime_config
from reconciler.core.spec import FleetSpec, Zone

DEFAULT_IMAGE = "ghcr.io/edgeops/runtime:0.1.0"
DEFAULT_GPU_IMAGE = "ghcr.io/edgeops/runtime-gpu:0.1.0"

# Apply order inside a stage: Namespaces before what lives in them, a Role before its binding.
_KIND_ORDER = (
    "Namespace",
    "NodePool",
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "HelmChart",
    "ConfigMap",
    "Service",
    "Deployment",
    "StatefulSet",
    "PodDisruptionBudget",
)

_STAGE_OF_KIND = {
    "Namespace": Stage.FOUNDATION,
    "NodePool": Stage.FOUNDATION,
    "HelmChart": Stage.FOUNDATION,
    "ServiceAccount": Stage.FOUNDATION,
    "Role": Stage.FOUNDATION,
    "RoleBinding": Stage.FOUNDATION,
    "ConfigMap": Stage.CONFIG,
    "Deployment": Stage.WORKLOAD,
    "StatefulSet": Stage.WORKLOAD,
    "Service": Stage.WORKLOAD,
    "PodDisruptionBudget": Stage.WORKLOAD,
}


@dataclass(frozen=True)
class RenderOptions:
    """Where and what to run. `namespace` is per zone cluster (tests use one of their own)."""

    namespace: str = DEFAULT_NAMESPACE
    image: str = DEFAULT_IMAGE
    gpu_image: str = DEFAULT_GPU_IMAGE


@dataclass(frozen=True)
class RenderedZone:
    zone: str
    revision: str
    namespace: str
    manifests: tuple[Manifest, ...]
    notes: tuple[str, ...] = ()  # things worth knowing that do not stop the render (e.g. placeholder artifacts)
    basis: str | None = None  # a paused zone: the revision whose desired state it keeps (see `paused`)

    def __iter__(self) -> Iterator[Manifest]:
        return iter(self.manifests)

    def by_stage(self, stage: Stage) -> tuple[Manifest, ...]:
        return tuple(m for m in self.manifests if m.stage is stage)


class RenderError(ValueError):
    """The desired state cannot be rendered for this zone (the message names the zone and why)."""


def stage_of(kind: str) -> Stage:
    return _STAGE_OF_KIND.get(kind, Stage.WORKLOAD)


def apply_order(kind: str) -> tuple[int, int]:
    """Sort key of a kind: its stage, then its place within the stage (unknown kinds last)."""
    return (stage_of(kind), _KIND_ORDER.index(kind) if kind in _KIND_ORDER else len(_KIND_ORDER))


def render_zone(
    spec: FleetSpec, zone: Zone, revision: str, options: RenderOptions | None = None, *, basis: str | None = None
) -> RenderedZone:
    opts = options or RenderOptions()
    ns = opts.namespace
    objects: list[dict[str, Any]] = [platform.namespace(zone, ns), platform.service_account(zone, ns)]
    notes: list[str] = []
    config_maps: list[str] = []
    image = opts.gpu_image if zone.spec.hardware.target == "gpu" else opts.image
    for assignment in zone.spec.models:
        model = spec.models.get(assignment.model)
        if model is None:
            raise RenderError(f"zone {zone.name}: model {assignment.model!r} is not defined under models/")
        tracks = ("stable", "canary") if assignment.canary is not None else ("stable",)
        for track in tracks:
            try:
                config = runtime_config(spec, zone, assignment, model, track=track, namespace=ns)
            except ValueError as error:
                raise RenderError(f"zone {zone.name}, model {model.name} ({track}): {error}") from error
            version = model.spec.version(config.models[0].version)
            placeholder = version is not None and version.artifact.placeholder
            if placeholder:
                notes.append(
                    f"{model.name} {config.models[0].version} ({track}): artifact is a placeholder (not built yet); "
                    "its pods cannot become ready"
                )
            cm = workloads.config_map(zone, ns, model.name, track, config)
            config_maps.append(cm["metadata"]["name"])
            objects += [
                cm,
                workloads.workload(
                    zone,
                    ns,
                    assignment,
                    track=track,
                    config_json=cm["data"]["runtime.json"],
                    image=image,
                    placeholder=placeholder,
                ),
                workloads.metrics_service(zone, ns, model.name, track),
                workloads.disruption_budget(zone, ns, model.name, track),
            ]
    objects += [platform.role(zone, ns, tuple(config_maps)), platform.role_binding(zone, ns)]
    objects += [platform.node_pool(zone, pool) for pool in zone.spec.node_pools]
    objects.append(platform.nats_helm_chart(spec, zone, ns, platform.nats_values(spec, zone)))
    manifests = sorted(
        (make_manifest(obj, stage_of(obj["kind"]), revision) for obj in objects),
        key=lambda m: (*apply_order(m.ref.kind), m.ref.kind, m.ref.namespace, m.ref.name),
    )
    _check_unique(zone, manifests)
    return RenderedZone(zone.name, revision, ns, tuple(manifests), tuple(notes), basis)


def zones_of(spec: FleetSpec, region: str, zone: str | None = None) -> tuple[Zone, ...]:
    """Every zone of the region (or only `zone`), paused or not, in name order."""
    zones = sorted(spec.zones_in(region), key=lambda z: z.name)
    if zone is not None:
        zones = [z for z in zones if z.name == zone]
        if not zones:
            raise RenderError(f"zone {zone!r} is not in region {region!r}")
    return tuple(zones)


def render_region(
    spec: FleetSpec, region: str, revision: str, options: RenderOptions | None = None, zone: str | None = None
) -> tuple[RenderedZone, ...]:
    """Every zone of the region (or only `zone`) that is not paused, in name order. A paused zone is rendered from
    its basis (`paused.paused_view`), which only the zone itself records."""
    return tuple(render_zone(spec, z, revision, options) for z in zones_of(spec, region, zone) if not z.spec.paused)


def _check_unique(zone: Zone, manifests: list[Manifest]) -> None:
    seen: set[tuple[str, str, str]] = set()
    for m in manifests:
        key = (m.ref.kind, m.ref.namespace, m.ref.name)
        if key in seen:
            raise RenderError(f"zone {zone.name}: two objects named {m.ref} (e.g. a model named like another's canary)")
        seen.add(key)
