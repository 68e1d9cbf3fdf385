"""One region pass: what `edgeops apply` does and what the region loop does on every pass, so that a pass means
the same thing everywhere.

    done = await apply_region(load, "eu-west", RegionOptions(kubeconfig=path, nats=NatsOptions(hub)))
    results = run_once(load, "eu-west", options)      # the same pass, synchronously: the zones' results

Every zone of the region (or `zone` alone, or those `only` lets through), at most `concurrency` at once:

    a paused zone: its basis read from its inventory and loaded from `history`, the branch's rollbacks applied
    with NATS: the JetStream assets it lacks created (a paused zone: none), and its retired consumers still
        holding records read
    staged server-side apply, prune and health (`apply_zone`, in a worker thread); the workload objects of a
        track whose retired consumers hold records are not pruned yet, so its runtime drains them; when NATS
        could not be read, no track's objects are pruned (any of them might hold records)
    with NATS: the zone's JetStream assets through the hub, folded into the zone's result (`merge_zone_result`);
        a draining zone is Progressing and says so, and the region loop comes back soon

then, with NATS and over the whole region, the hub's own stream. A zone's failure never holds up another. Invalid
desired state raises `DesiredStateInvalid` before any zone is contacted: nothing is applied or pruned.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from reconciler.app.nats import ONCE, NatsOptions, apply_hub, apply_nats, through_hub
from reconciler.app.reconcile.apply import Observer, apply_zone, no_observer
from reconciler.app.reconcile.inventory import InventoryUnreadable
from reconciler.app.reconcile.paused import History, PausedUnresolved, paused_desired
from reconciler.app.reconcile.region import RegionOptions, ZoneTarget, concurrency, spec_of, targets
from reconciler.app.reconcile.zones import connect_zone
from reconciler.core.load import LoadResult
from reconciler.core.nats import consumer_track
from reconciler.core.plan import (
    ChangeSet,
    NatsStatus,
    NatsZoneResult,
    ZonePlan,
    ZoneResult,
    ZoneStatus,
    merge_zone_result,
)
from reconciler.core.render import EVERY_TRACK
from reconciler.core.spec import FleetSpec
from reconciler.shells.kube import KubeConfigError, KubeError, Unreachable


class PassObserver(Protocol):
    """Watches a pass from inside: each zone's apply runs inside `zone(name, revision)` and each of its stages
    ('plan', 'apply:foundation', ..., 'health') inside `stage(name, stage)`; the region loop opens tracing spans."""

    def zone(self, zone: str, revision: str) -> AbstractContextManager[object]: ...

    def stage(self, zone: str, stage: str) -> AbstractContextManager[object]: ...


class Unobserved:
    def zone(self, zone: str, revision: str) -> AbstractContextManager[object]:
        return contextlib.nullcontext()

    def stage(self, zone: str, stage: str) -> AbstractContextManager[object]:
        return contextlib.nullcontext()


UNOBSERVED = Unobserved()


@dataclass(frozen=True)
class RegionPass:
    zones: tuple[ZoneResult, ...]  # every zone visited, in the region's order, NATS folded in
    nats: tuple[NatsZoneResult, ...] = ()  # with NATS: each visited zone's own NATS outcome
    hub: NatsZoneResult | None = None  # with NATS, over the whole region: the hub's (named `hub-<region>`)
    holding: tuple[str, ...] = ()  # zones that kept a draining track's objects from the prune

    @property
    def draining(self) -> bool:
        """Some zone's retired consumers still hold records, or its kept objects await their prune: worth
        another pass soon."""
        return bool(self.holding) or any(n.draining for n in self.nats)


def _every_zone(zone: str) -> bool:
    return True


def _never() -> bool:
    return False


def apply_one(
    load: LoadResult,
    target: ZoneTarget,
    options: RegionOptions,
    *,
    observe: Observer = no_observer,
    stopping: Callable[[], bool] = _never,
    history: History | None = None,
    fenced: Callable[[], bool] = _never,
    keep: frozenset[tuple[str, str]] = frozenset(),
) -> tuple[ZoneResult, FleetSpec | None]:
    """One zone's Kubernetes side, connecting with the region's kubeconfig (a missing context is Unreachable), and
    the desired state it was rendered from (None when nothing could be rendered for a paused zone). `keep`: the
    (model, track) pairs whose objects are not pruned (their retired consumers still hold records)."""
    head = spec_of(load)
    zone = head.zone(target.zone)
    assert zone is not None
    try:
        client = connect_zone(zone, options.kubeconfig, options.request_timeout_s)
    except KubeConfigError as error:
        # A zone rendered from the branch still gets its NATS; a paused one's desired state is unknown unread.
        return _not_applied(target, ZoneStatus.UNREACHABLE, str(error)), head if target.rendered else None
    try:
        spec, rendered = head, target.rendered
        if rendered is None:
            try:
                spec, rendered = paused_desired(
                    client, head, target.zone, target.revision, history=history, options=options.render
                )
            except Unreachable as error:
                return _not_applied(target, ZoneStatus.UNREACHABLE, str(error)), None
            except (PausedUnresolved, InventoryUnreadable, KubeError) as error:
                return _not_applied(target, ZoneStatus.OUT_OF_SYNC, str(error)), None
        return apply_zone(client, rendered, options.apply, observe, stopping, fenced=fenced, keep=keep), spec
    finally:
        client.close()


def _not_applied(target: ZoneTarget, status: ZoneStatus, message: str) -> ZoneResult:
    plan = ZonePlan(target.zone, target.revision, error=message)
    return ZoneResult(target.zone, status, target.revision, plan, message=message)


async def apply_region(
    load: LoadResult,
    region: str,
    options: RegionOptions | None = None,
    zone: str | None = None,
    *,
    only: Callable[[str], bool] = _every_zone,
    observer: PassObserver = UNOBSERVED,
    stopping: Callable[[], bool] = _never,
    history: History | None = None,
    fenced: Callable[[], bool] = _never,
) -> RegionPass:
    """The pass. `stopping()` true: zones not started yet are skipped and health waits are cut short (the loop
    stopping, or losing its Lease); skipped zones are absent from the result. `history` reads the commits paused
    zones keep (without it a paused zone is left as it is, and its result says so). `fenced()` true: no further
    write is sent, even in a zone in flight (the loop's leader lost its Lease)."""
    opts = options or RegionOptions()
    visits = [t for t in targets(load, region, opts.render, zone) if only(t.zone)]
    limit = asyncio.Semaphore(concurrency(load, region, opts))

    def kubernetes(target: ZoneTarget, keep: frozenset[tuple[str, str]]) -> tuple[ZoneResult, FleetSpec | None]:
        with observer.zone(target.zone, target.revision):
            stages = functools.partial(observer.stage, target.zone)
            return apply_one(
                load, target, opts, observe=stages, stopping=stopping, history=history, fenced=fenced, keep=keep
            )

    async def one(target: ZoneTarget) -> tuple[ZoneResult, NatsZoneResult | None, bool] | None:
        async with limit:
            if stopping():
                return None
            created, keep = ChangeSet(), frozenset[tuple[str, str]]()
            if opts.nats is not None:
                first = await _before_apply(load, target, opts.nats)
                created, keep = (first.changes if target.rendered is not None else ChangeSet()), _held(first)
            result, spec = await asyncio.to_thread(kubernetes, target, keep)
            nats = None
            if opts.nats is not None and spec is not None:
                nats = await _zone_nats(spec, result, opts.nats)
                nats = dataclasses.replace(nats, changes=created + nats.changes)
            # Unknown holdings (NATS unreadable) do not bring the loop back soon: the next pass reads NATS afresh.
            return result, nats, bool(keep) and keep is not EVERY_TRACK

    visited = [done for done in await asyncio.gather(*(one(t) for t in visits)) if done is not None]
    hub = None
    if opts.nats is not None and zone is None and visited:
        hub = await _hub_nats(load, region, opts.nats, visited[0][0].revision)
    return RegionPass(
        zones=tuple(r if n is None else merge_zone_result(r, n) for r, n, _ in visited),
        nats=tuple(n for _, n, _ in visited if n is not None),
        hub=hub,
        holding=tuple(r.zone for r, _, held in visited if held),
    )


async def _before_apply(load: LoadResult, target: ZoneTarget, options: NatsOptions) -> NatsZoneResult:
    """Before a zone's Kubernetes apply, create the JetStream assets it lacks (nothing else: no update, no delete).
    The apply moves the zone's NATS mapping (its HelmChart), and the input stream keeps a record only for the
    consumers whose filter it matches (interest retention): a new canary's consumer created after the apply and
    its health wait would miss every record routed to the canary until then. Deletions stay after the apply, when
    the mapping no longer routes to them, and a retired consumer that still holds records is kept (draining) —
    the same read says which, so the apply keeps that track's workload too. One attempt; the pass after the apply
    retries and reports failures. Its changes are the assets it created (reported with the pass's NATS changes).

    A paused zone creates nothing (what it will run is known only inside its apply, from its basis): the read
    alone, against the branch, says which retired consumers hold records. A consumer the branch retires and the
    paused zone still runs is named too, which keeps nothing the paused zone would prune."""
    spec = spec_of(load)
    zone = spec.zone(target.zone)
    if zone is None:
        return NatsZoneResult(target.zone, NatsStatus.READY, ChangeSet())
    paused = target.rendered is None
    return await apply_nats(
        spec,
        zone,
        through_hub(options.hub, zone),
        revision=target.revision,
        write=not paused,
        retry=ONCE,
        create_only=not paused,
        drain=options.drain,
    )


def _held(before: NatsZoneResult) -> frozenset[tuple[str, str]]:
    """The (model, track) pairs whose objects the apply must not prune: those whose retired consumers still hold
    records; every track's when NATS could not be read, since any of them might (the next pass that reads NATS
    prunes what is drained by then)."""
    if before.status is not NatsStatus.READY:
        return EVERY_TRACK
    served = (consumer_track(before.zone, c.stream, c.durable) for c in before.draining)
    return frozenset((model, track.value) for model, track in (s for s in served if s is not None))


async def _zone_nats(spec: FleetSpec, result: ZoneResult, options: NatsOptions) -> NatsZoneResult:
    """After the zone's Kubernetes apply, whatever its outcome, its JetStream assets through the hub, from the
    desired state the zone was rendered from; an unreachable NATS makes that zone Degraded alone and is retried on
    the next pass."""
    zone = spec.zone(result.zone)
    assert zone is not None
    return await apply_nats(
        spec,
        zone,
        through_hub(options.hub, zone),
        revision=result.revision,
        allow_stream_delete=options.allow_stream_delete,
        retry=options.retry,
        drain=options.drain,
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
    load: LoadResult,
    region: str,
    options: RegionOptions | None = None,
    zone: str | None = None,
    *,
    history: History | None = None,
) -> list[ZoneResult]:
    """One synchronous pass over the region; its zones' results."""
    return list(asyncio.run(apply_region(load, region, options, zone, history=history)).zones)
