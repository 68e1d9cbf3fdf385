"""A region at one revision: render every zone, then plan or apply them concurrently (bounded), one zone's
failure never holding up another.

    load = load_desired(repo, rev)
    plans = plan_region(load, "eu-west", RegionOptions(kubeconfig=path))
    results = run_once(load, "eu-west", RegionOptions(kubeconfig=path))

Invalid desired state raises `DesiredStateInvalid` before any zone is contacted: nothing is applied or pruned.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.app.reconcile.apply import ApplyOptions, Observer, apply_zone, no_observer
from reconciler.app.reconcile.live import plan_zone
from reconciler.app.reconcile.zones import connect_zone
from reconciler.core.load import LoadResult
from reconciler.core.plan import ZonePlan, ZoneResult, ZoneStatus
from reconciler.core.render import RenderedZone, RenderError, RenderOptions, render_region
from reconciler.core.spec import FleetSpec
from reconciler.shells.kube import KubeConfigError, KubeError, Unreachable

WORKING_TREE = "working-tree"


class DesiredStateInvalid(Exception):
    """The revision does not load or render; `problems` lists why (file:line for load problems)."""

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message if not problems else f"{message}:\n  " + "\n  ".join(problems))
        self.problems = tuple(problems)


@dataclass(frozen=True)
class RegionOptions:
    kubeconfig: Path | None = None
    render: RenderOptions = field(default_factory=RenderOptions)
    apply: ApplyOptions = field(default_factory=ApplyOptions)
    concurrency: int | None = None  # default: the region's reconcile.concurrency
    request_timeout_s: float = 20.0


def render_desired(
    load: LoadResult, region: str, options: RenderOptions, zone: str | None = None
) -> tuple[RenderedZone, ...]:
    spec = _spec(load, region)
    try:
        return render_region(spec, region, load.revision or WORKING_TREE, options, zone=zone)
    except RenderError as error:
        raise DesiredStateInvalid(str(error)) from error


def _spec(load: LoadResult, region: str) -> FleetSpec:
    if load.spec is None:
        problems = [f"{p.file}:{p.line}:{p.column}: {p.code}: {p.message}" for p in load.errors]
        raise DesiredStateInvalid("the desired state does not load", problems)
    if load.spec.region(region) is None:
        known = ", ".join(r.name for r in load.spec.fleet.spec.regions)
        raise DesiredStateInvalid(f"region {region!r} is not in fleet.yaml (known: {known})")
    return load.spec


def _concurrency(load: LoadResult, region: str, options: RegionOptions) -> int:
    if options.concurrency is not None:
        return max(1, options.concurrency)
    found = load.spec.region(region) if load.spec is not None else None
    return found.reconcile.concurrency if found is not None else 4


def plan_one(load: LoadResult, rendered: RenderedZone, options: RegionOptions) -> ZonePlan:
    spec = _spec_of(load)
    zone = spec.zone(rendered.zone)
    assert zone is not None
    try:
        client = connect_zone(zone, options.kubeconfig, options.request_timeout_s)
    except KubeConfigError as error:
        return ZonePlan(rendered.zone, rendered.revision, error=str(error))
    try:
        plan, _ = plan_zone(client, rendered, adopt=options.apply.adopt)
        return plan
    except KubeError as error:
        prefix = "unreachable: " if isinstance(error, Unreachable) else ""
        return ZonePlan(rendered.zone, rendered.revision, error=f"{prefix}{error}")
    finally:
        client.close()


def plan_region(
    load: LoadResult, region: str, options: RegionOptions | None = None, zone: str | None = None
) -> list[ZonePlan]:
    """One plan per zone (errors inside the plan, never raised, except for invalid desired state)."""
    opts = options or RegionOptions()
    rendered = render_desired(load, region, opts.render, zone)
    with ThreadPoolExecutor(max_workers=_concurrency(load, region, opts)) as pool:
        return list(pool.map(lambda r: plan_one(load, r, opts), rendered))


def apply_one(
    load: LoadResult,
    rendered: RenderedZone,
    options: RegionOptions,
    observe: Observer = no_observer,
    stopping: Callable[[], bool] = lambda: False,
) -> ZoneResult:
    zone = _spec_of(load).zone(rendered.zone)
    assert zone is not None
    try:
        client = connect_zone(zone, options.kubeconfig, options.request_timeout_s)
    except KubeConfigError as error:
        plan = ZonePlan(rendered.zone, rendered.revision, error=str(error))
        return ZoneResult(rendered.zone, ZoneStatus.UNREACHABLE, rendered.revision, plan, message=str(error))
    try:
        return apply_zone(client, rendered, options.apply, observe, stopping)
    finally:
        client.close()


async def apply_region(
    load: LoadResult,
    region: str,
    options: RegionOptions | None = None,
    zone: str | None = None,
    only: Callable[[str], bool] = lambda zone: True,
) -> list[ZoneResult]:
    """Apply every zone (or those `only` lets through), at most `concurrency` at once, each in a worker thread."""
    opts = options or RegionOptions()
    rendered = [r for r in render_desired(load, region, opts.render, zone) if only(r.zone)]
    limit = asyncio.Semaphore(_concurrency(load, region, opts))

    async def one(item: RenderedZone) -> ZoneResult:
        async with limit:
            return await asyncio.to_thread(apply_one, load, item, opts)

    return list(await asyncio.gather(*(one(r) for r in rendered)))


def run_once(
    load: LoadResult, region: str, options: RegionOptions | None = None, zone: str | None = None
) -> list[ZoneResult]:
    """One synchronous pass over the region: what `edgeops apply` and the tests call."""
    return asyncio.run(apply_region(load, region, options, zone))


def _spec_of(load: LoadResult) -> FleetSpec:
    assert load.spec is not None
    return load.spec
