"""A plan without cluster credentials: the head revision's rendered objects compared with `main`'s.

Both sides are rendered with the same revision label, so only real changes show (the revision annotation
would otherwise make every object differ). `main`'s objects stand in for the live state and its inventory:
objects only `main` renders are shown as pruned. A zone paused at head is shown as the pass would leave it: what
`main` renders for it, changed only by the rollbacks head makes (`paused_view`); `main`'s side renders every zone,
paused or not, as what runs there.
"""

from __future__ import annotations

from reconciler.core.plan import ZonePlan, plan_kubernetes
from reconciler.core.render import RenderedZone, RenderError, RenderOptions, paused_view, render_zone, zones_of
from reconciler.core.spec import FleetSpec

PREVIEW_REVISION = "preview"


def preview_region(
    base: FleetSpec | None, head: FleetSpec, region: str, options: RenderOptions | None = None
) -> list[ZonePlan]:
    """One ZonePlan per zone of the region at head (and per zone that only `main` has)."""
    try:
        head_zones = _rendered_head(head, base, region, options)
    except RenderError as error:
        return [ZonePlan(zone=f"region {region}", revision=None, error=str(error))]
    base_zones = {}
    if base is not None and base.region(region) is not None:
        try:
            base_zones = {z.name: render_zone(base, z, PREVIEW_REVISION, options) for z in zones_of(base, region)}
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


def _rendered_head(
    head: FleetSpec, base: FleetSpec | None, region: str, options: RenderOptions | None
) -> dict[str, RenderedZone]:
    """Every zone of the region at head; a paused one as its paused view of `main` (absent where main lacks it)."""
    out = {}
    for zone in zones_of(head, region):
        if not zone.spec.paused:
            out[zone.name] = render_zone(head, zone, PREVIEW_REVISION, options)
        elif base is not None and (view := paused_view(base, head, zone.name)) is not None:
            out[zone.name] = render_zone(view.spec, view.zone, PREVIEW_REVISION, options)
    return out
