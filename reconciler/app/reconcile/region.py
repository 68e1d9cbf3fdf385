"""A region at one revision: its options, its rendering, and its plan, every zone planned concurrently (bounded),
one zone's failure never holding up another. Applying it is `regionpass.apply_region`.

    load = load_desired(repo, rev)
    plans = plan_region(load, "eu-west", RegionOptions(kubeconfig=path))

Invalid desired state raises `DesiredStateInvalid` before any zone is contacted: nothing is planned or applied.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.app.nats import NatsOptions
from reconciler.app.reconcile.apply import ApplyOptions
from reconciler.app.reconcile.inventory import WORKING_TREE, InventoryUnreadable
from reconciler.app.reconcile.live import plan_zone
from reconciler.app.reconcile.paused import History, PausedUnresolved, paused_desired
from reconciler.app.reconcile.zones import connect_zone
from reconciler.core.load import LoadResult
from reconciler.core.plan import ZonePlan
from reconciler.core.render import RenderedZone, RenderError, RenderOptions, render_region, zones_of
from reconciler.core.spec import FleetSpec
from reconciler.shells.kube import KubeConfigError, KubeError, Unreachable


class DesiredStateInvalid(Exception):
    """The revision does not load or render; `problems` lists why (file:line for load problems)."""

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message if not problems else f"{message}:\n  " + "\n  ".join(problems))
        self.problems = tuple(problems)


@dataclass(frozen=True)
class ZoneTarget:
    """A zone the pass visits: rendered from the revision, or paused (`rendered` None: rendered from its basis
    once the zone has been read)."""

    zone: str
    revision: str
    rendered: RenderedZone | None


@dataclass(frozen=True)
class RegionOptions:
    kubeconfig: Path | None = None
    render: RenderOptions = field(default_factory=RenderOptions)
    apply: ApplyOptions = field(default_factory=ApplyOptions)
    concurrency: int | None = None  # default: the region's reconcile.concurrency
    request_timeout_s: float = 20.0
    nats: NatsOptions | None = None  # also each zone's JetStream assets through the region hub, then the hub's


def render_desired(
    load: LoadResult, region: str, options: RenderOptions, zone: str | None = None
) -> tuple[RenderedZone, ...]:
    spec = _spec(load, region)
    try:
        return render_region(spec, region, load.revision or WORKING_TREE, options, zone=zone)
    except RenderError as error:
        raise DesiredStateInvalid(str(error)) from error


def targets(load: LoadResult, region: str, options: RenderOptions, zone: str | None = None) -> tuple[ZoneTarget, ...]:
    """Every zone of the region (or `zone` alone), in name order; raises `DesiredStateInvalid` as `render_desired`."""
    rendered = {r.zone: r for r in render_desired(load, region, options, zone)}
    revision = load.revision or WORKING_TREE
    try:
        zones = zones_of(spec_of(load), region, zone)
    except RenderError as error:
        raise DesiredStateInvalid(str(error)) from error
    return tuple(ZoneTarget(z.name, revision, rendered.get(z.name)) for z in zones)


def _spec(load: LoadResult, region: str) -> FleetSpec:
    if load.spec is None:
        problems = [f"{p.file}:{p.line}:{p.column}: {p.code}: {p.message}" for p in load.errors]
        raise DesiredStateInvalid("the desired state does not load", problems)
    if load.spec.region(region) is None:
        known = ", ".join(r.name for r in load.spec.fleet.spec.regions)
        raise DesiredStateInvalid(f"region {region!r} is not in fleet.yaml (known: {known})")
    return load.spec


def concurrency(load: LoadResult, region: str, options: RegionOptions) -> int:
    """Zones planned or applied at once: the option, else the region's `reconcile.concurrency`."""
    if options.concurrency is not None:
        return max(1, options.concurrency)
    found = load.spec.region(region) if load.spec is not None else None
    return found.reconcile.concurrency if found is not None else 4


def plan_one(load: LoadResult, target: ZoneTarget, options: RegionOptions, history: History | None = None) -> ZonePlan:
    head = spec_of(load)
    zone = head.zone(target.zone)
    assert zone is not None
    try:
        client = connect_zone(zone, options.kubeconfig, options.request_timeout_s)
    except KubeConfigError as error:
        return ZonePlan(target.zone, target.revision, error=str(error))
    try:
        rendered = target.rendered
        if rendered is None:
            _, rendered = paused_desired(
                client, head, target.zone, target.revision, history=history, options=options.render
            )
        plan, _ = plan_zone(client, rendered, adopt=options.apply.adopt)
        return plan
    except (PausedUnresolved, InventoryUnreadable) as error:
        return ZonePlan(target.zone, target.revision, error=str(error))
    except KubeError as error:
        prefix = "unreachable: " if isinstance(error, Unreachable) else ""
        return ZonePlan(target.zone, target.revision, error=f"{prefix}{error}")
    finally:
        client.close()


def plan_region(
    load: LoadResult,
    region: str,
    options: RegionOptions | None = None,
    zone: str | None = None,
    *,
    history: History | None = None,
) -> list[ZonePlan]:
    """One plan per zone (errors inside the plan, never raised, except for invalid desired state). A paused zone
    is planned from its basis with the branch's rollbacks (read through `history`)."""
    opts = options or RegionOptions()
    visits = targets(load, region, opts.render, zone)
    with ThreadPoolExecutor(max_workers=concurrency(load, region, opts)) as pool:
        return list(pool.map(lambda t: plan_one(load, t, opts, history), visits))


def spec_of(load: LoadResult) -> FleetSpec:
    """The spec of a load that `render_desired` accepted."""
    assert load.spec is not None
    return load.spec
