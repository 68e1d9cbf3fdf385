"""A plan without cluster credentials: the head revision's rendered objects compared with `main`'s.

Both sides are rendered with the same revision label, so only real changes show (the revision annotation
would otherwise make every object differ). `main`'s objects stand in for the live state and its inventory:
objects only `main` renders are shown as pruned.
"""

from __future__ import annotations

from reconciler.core.plan import ZonePlan, plan_kubernetes
from reconciler.core.render import RenderError, RenderOptions, render_region
from reconciler.core.spec import FleetSpec

PREVIEW_REVISION = "preview"


def preview_region(
    base: FleetSpec | None, head: FleetSpec, region: str, options: RenderOptions | None = None
) -> list[ZonePlan]:
    """One ZonePlan per zone of the region at head (and per zone that only `main` has)."""
    try:
        head_zones = {z.zone: z for z in render_region(head, region, PREVIEW_REVISION, options)}
    except RenderError as error:
        return [ZonePlan(zone=f"region {region}", revision=None, error=str(error))]
    base_zones = {}
    if base is not None and base.region(region) is not None:
        try:
            base_zones = {z.zone: z for z in render_region(base, region, PREVIEW_REVISION, options)}
        except RenderError:
            base_zones = {}  # main itself does not render: everything at head shows as new
    plans = []
    for name in sorted(set(head_zones) | set(base_zones)):
        desired = head_zones[name].manifests if name in head_zones else ()
        before = base_zones[name].manifests if name in base_zones else ()
        live = {m.ref: m.obj() for m in before}
        changes = plan_kubernetes(desired, live, {}, [m.ref for m in before])
        plans.append(ZonePlan(zone=name, revision=None, kubernetes=changes))
    return plans
