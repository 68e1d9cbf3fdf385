"""One region pass: what `edgeops apply` does and what the region loop does on every pass, so that a pass means
the same thing everywhere.

    done = await apply_region(load, "eu-west", RegionOptions(kubeconfig=path, nats=NatsOptions(hub)))
    results = run_once(load, "eu-west", options)      # the same pass, synchronously: the zones' results

Every zone of the region (or `zone` alone, or those `only` lets through), at most `concurrency` at once:

    staged server-side apply, prune and health (`apply_zone`, in a worker thread)
    with NATS: the zone's JetStream assets through the hub, folded into the zone's result (`merge_zone_result`)

then, with NATS and over the whole region, the hub's own stream. A zone's failure never holds up another. Invalid
desired state raises `DesiredStateInvalid` before any zone is contacted: nothing is applied or pruned.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from reconciler.app.nats import NatsOptions, apply_hub, apply_nats, through_hub
from reconciler.app.reconcile.apply import Observer, apply_zone, no_observer
from reconciler.app.reconcile.region import RegionOptions, concurrency, render_desired, spec_of
from reconciler.app.reconcile.zones import connect_zone
from reconciler.core.load import LoadResult
from reconciler.core.plan import NatsZoneResult, ZonePlan, ZoneResult, ZoneStatus, merge_zone_result
from reconciler.core.render import RenderedZone
from reconciler.shells.kube import KubeConfigError


class PassObserver(Protocol):
    """Watches a pass from inside: each zone's apply runs inside `zone(rendered)` and each of its stages ('plan',
    'apply:foundation', ..., 'health') inside `stage(rendered, stage)`; the region loop opens tracing spans."""

    def zone(self, rendered: RenderedZone) -> AbstractContextManager[object]: ...

    def stage(self, rendered: RenderedZone, stage: str) -> AbstractContextManager[object]: ...


class Unobserved:
    def zone(self, rendered: RenderedZone) -> AbstractContextManager[object]:
        return contextlib.nullcontext()

    def stage(self, rendered: RenderedZone, stage: str) -> AbstractContextManager[object]:
        return contextlib.nullcontext()


UNOBSERVED = Unobserved()


@dataclass(frozen=True)
class RegionPass:
    zones: tuple[ZoneResult, ...]  # every zone visited, in the region's order, NATS folded in
    nats: tuple[NatsZoneResult, ...] = ()  # with NATS: each visited zone's own NATS outcome
    hub: NatsZoneResult | None = None  # with NATS, over the whole region: the hub's (named `hub-<region>`)


def _every_zone(zone: str) -> bool:
    return True


def _never() -> bool:
    return False


def apply_one(
    load: LoadResult,
    rendered: RenderedZone,
    options: RegionOptions,
    observe: Observer = no_observer,
    stopping: Callable[[], bool] = _never,
) -> ZoneResult:
    """One zone's Kubernetes side, connecting with the region's kubeconfig (a missing context is Unreachable)."""
    zone = spec_of(load).zone(rendered.zone)
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
    *,
    only: Callable[[str], bool] = _every_zone,
    observer: PassObserver = UNOBSERVED,
    stopping: Callable[[], bool] = _never,
) -> RegionPass:
    """The pass. `stopping()` true: zones not started yet are skipped and health waits are cut short (the loop
    stopping, or losing its Lease); skipped zones are absent from the result."""
    opts = options or RegionOptions()
    rendered = [r for r in render_desired(load, region, opts.render, zone) if only(r.zone)]
    limit = asyncio.Semaphore(concurrency(load, region, opts))

    def kubernetes(item: RenderedZone) -> ZoneResult:
        with observer.zone(item):
            return apply_one(load, item, opts, lambda stage: observer.stage(item, stage), stopping)

    async def one(item: RenderedZone) -> tuple[ZoneResult, NatsZoneResult | None] | None:
        async with limit:
            if stopping():
                return None
            result = await asyncio.to_thread(kubernetes, item)
            nats = await _zone_nats(load, result, opts.nats) if opts.nats is not None else None
            return result, nats

    visited = [done for done in await asyncio.gather(*(one(r) for r in rendered)) if done is not None]
    hub = None
    if opts.nats is not None and zone is None and visited:
        hub = await _hub_nats(load, region, opts.nats, visited[0][0].revision)
    return RegionPass(
        zones=tuple(r if n is None else merge_zone_result(r, n) for r, n in visited),
        nats=tuple(n for _, n in visited if n is not None),
        hub=hub,
    )


async def _zone_nats(load: LoadResult, result: ZoneResult, options: NatsOptions) -> NatsZoneResult:
    """After the zone's Kubernetes apply, whatever its outcome, its JetStream assets through the hub; an
    unreachable NATS makes that zone Degraded alone and is retried on the next pass."""
    spec = spec_of(load)
    zone = spec.zone(result.zone)
    assert zone is not None
    return await apply_nats(
        spec,
        zone,
        through_hub(options.hub, zone),
        revision=result.revision,
        allow_stream_delete=options.allow_stream_delete,
        retry=options.retry,
    )


async def _hub_nats(load: LoadResult, region: str, options: NatsOptions, revision: str | None) -> NatsZoneResult:
    """The hub's stream sourcing the zones, once per pass over the whole region."""
    return await apply_hub(
        spec_of(load),
        region,
        options.hub,
        revision=revision,
        allow_stream_delete=options.allow_stream_delete,
        retry=options.retry,
    )


def run_once(
    load: LoadResult, region: str, options: RegionOptions | None = None, zone: str | None = None
) -> list[ZoneResult]:
    """One synchronous pass over the region; its zones' results."""
    return list(asyncio.run(apply_region(load, region, options, zone)).zones)
