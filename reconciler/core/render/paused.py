"""What a paused zone runs: its *basis* (the desired state it was last reconciled to before the pause), changed
only by the rollbacks that the branch has made since.

`paused: true` means "change nothing here except rollbacks". The zone keeps the desired state of its basis
revision — models, policies and fleet settings as they were — and a canary of the basis leaves it when the branch
rolled that canary back: the branch still serves the same stable version of the model, with no canary or with
another canary version. A promotion (the stable version changed), a new canary, a removed model or any other edit
waits until the zone is resumed.

    view = paused_view(basis, head, "ams-01")   # None: the zone did not exist at its basis
    render_zone(view.spec, view.zone, head_revision, options, basis=basis_revision)
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from reconciler.core.spec import FleetSpec, ModelAssignment, Zone


@dataclass(frozen=True)
class PausedView:
    spec: FleetSpec  # the basis fleet, its copy of the zone with the rollbacks applied
    zone: Zone
    rolled_back: tuple[str, ...]  # "<model> <canary version>" for each canary the branch rolled back


def rolled_back(basis: ModelAssignment, head: ModelAssignment | None) -> bool:
    """Whether the branch rolled back the basis' canary: same stable version, and that canary no longer runs."""
    if basis.canary is None or head is None or head.version != basis.version:
        return False
    return head.canary is None or head.canary.version != basis.canary.version


def paused_view(basis: FleetSpec, head: FleetSpec, name: str) -> PausedView | None:
    zone = basis.zone(name)
    if zone is None:
        return None
    now = head.zone(name)
    gone = tuple(a for a in zone.spec.models if now is not None and rolled_back(a, now.assignment(a.model)))
    if not gone:
        return PausedView(basis, zone, ())
    models = tuple(a.model_copy(update={"canary": None}) if a in gone else a for a in zone.spec.models)
    changed = zone.model_copy(update={"spec": zone.spec.model_copy(update={"models": models})})
    zones = tuple(changed if z.name == name else z for z in basis.zones)
    spec = replace(basis, zones=zones)
    return PausedView(spec, changed, tuple(f"{a.model} {a.canary.version}" for a in gone if a.canary is not None))
