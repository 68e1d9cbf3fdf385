"""NATS for a whole region as the region's reconciler sees it: every zone's JetStream domain reached through the
region hub's leafnodes, plus the hub's own stream. Used by `edgeops plan --nats` and the region loop.

A zone whose NATS does not answer is `Degraded` on its own (`NatsZoneResult`); `with_nats` folds the results into
the Kubernetes plans so the plan shows NATS changes next to the Kubernetes ones.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence

from reconciler.app.nats import DEFAULT_RETRY, NatsZoneResult, RetryPolicy, apply_hub, apply_nats, plan_nats
from reconciler.core.plan import Action, ZonePlan
from reconciler.core.plan.status import ZoneResult, ZoneStatus
from reconciler.core.spec import FleetSpec
from reconciler.shells.nats import NatsEndpoint

SYSTEM = "nats"


async def plan_region_nats(
    spec: FleetSpec, region: str, hub: NatsEndpoint, *, zone: str | None = None, allow_stream_delete: bool = False
) -> list[NatsZoneResult]:
    """One result per zone of the region (or just `zone`), then the hub's own (named `hub-<region>`)."""
    zones = [z for z in spec.zones_in(region) if zone is None or z.name == zone]
    once = RetryPolicy(attempts=1)

    async def one_zone(name: str, domain: str) -> NatsZoneResult:
        endpoint = dataclasses.replace(hub, domain=domain)
        found = spec.zone(name)
        assert found is not None  # taken from the spec just above
        return await plan_nats(spec, found, endpoint, allow_stream_delete=allow_stream_delete, retry=once)

    results = list(await asyncio.gather(*(one_zone(z.name, z.spec.nats.domain) for z in zones)))
    if zone is None:
        results.append(
            await apply_hub(
                spec, region, hub, revision=None, write=False, retry=once, allow_stream_delete=allow_stream_delete
            )
        )
    return results


async def apply_region_via_hub(
    spec: FleetSpec,
    region: str,
    hub: NatsEndpoint,
    *,
    revision: str | None,
    zone: str | None = None,
    allow_stream_delete: bool = False,
    retry: RetryPolicy = DEFAULT_RETRY,
) -> list[NatsZoneResult]:
    """Apply every zone's JetStream assets through the hub (concurrently; a down zone is Degraded alone), then
    the hub's stream that sources them. Server configs travel with the zones' HelmCharts, not through here."""
    zones = [z for z in spec.zones_in(region) if zone is None or z.name == zone]
    results = list(
        await asyncio.gather(
            *(
                apply_nats(
                    spec,
                    z,
                    dataclasses.replace(hub, domain=z.spec.nats.domain),
                    revision=revision,
                    allow_stream_delete=allow_stream_delete,
                    retry=retry,
                )
                for z in zones
            )
        )
    )
    if zone is None:
        results.append(
            await apply_hub(spec, region, hub, revision=revision, retry=retry, allow_stream_delete=allow_stream_delete)
        )
    return results


def with_nats(plans: Sequence[ZonePlan], results: Sequence[NatsZoneResult], revision: str | None) -> list[ZonePlan]:
    """The plans with each zone's NATS changes added (and the hub as a plan of its own); a Degraded NATS sets the
    zone's error so the plan reports it could not be planned completely."""
    by_zone = {r.zone: r for r in results}
    merged: list[ZonePlan] = []
    for plan in plans:
        result = by_zone.pop(plan.zone, None)
        updated = plan
        if result is not None:
            updated = plan.with_system(SYSTEM, result.changes)
            if result.degraded and plan.error is None:
                updated = dataclasses.replace(updated, error=f"nats: {result.error}")
        merged.append(updated)
    for name, result in by_zone.items():  # the hub, and zones the Kubernetes planner skipped
        merged.append(
            ZonePlan(name, revision, error=f"nats: {result.error}" if result.degraded else None).with_system(
                SYSTEM, result.changes
            )
        )
    return merged


def merge_zone_result(result: ZoneResult, nats: NatsZoneResult) -> ZoneResult:
    """A zone's Kubernetes result with its NATS outcome folded in, for the region loop: the NATS changes join the
    plan, and a Degraded NATS (unreachable, refused, or a stream kept because it holds messages) makes a zone that
    was otherwise Synced or Progressing `Degraded`, with the reason in the message. An Unreachable or OutOfSync
    zone keeps its status (the more specific one)."""
    plan = result.plan.with_system(SYSTEM, nats.changes)
    problem = (
        nats.error
        if nats.degraded
        else ("; ".join(f"{c.ref} {c.detail}" for c in nats.blocked) if nats.blocked else None)
    )
    status, message = result.status, result.message
    if problem is not None:
        message = "; ".join(m for m in (message, f"nats: {problem}") if m)
        if status in (ZoneStatus.SYNCED, ZoneStatus.PROGRESSING):
            status = ZoneStatus.DEGRADED
    written = sum(1 for c in nats.changes if c.action in (Action.CREATE, Action.CONFIGURE))
    pruned = sum(1 for c in nats.changes if c.action is Action.PRUNE)
    return dataclasses.replace(
        result,
        status=status,
        plan=plan,
        message=message,
        applied=result.applied + written,
        pruned=result.pruned + pruned,
    )
