"""Folding a zone's NATS outcome into its Kubernetes plan (`with_nats`, for `edgeops plan --nats`) and into its
Kubernetes result (`merge_zone_result`, for every region pass), so NATS changes show next to the Kubernetes ones
and a NATS problem shows in the zone's status."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Sequence

from reconciler.core.nats import consumer_track
from reconciler.core.plan.changeset import Action, ZonePlan
from reconciler.core.plan.nats_diff import DRAINING, SYSTEM
from reconciler.core.plan.status import NatsZoneResult, RetiredConsumer, ZoneResult, ZoneStatus


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


def retired_records(zone: str, consumers: Sequence[RetiredConsumer]) -> dict[str, int]:
    """Records per track (`canary fraud-scoring`; a partitioned track's consumers summed), for status lines."""
    held: dict[str, int] = defaultdict(int)
    for consumer in consumers:
        served = consumer_track(zone, consumer.stream, consumer.durable)
        what = f"{served[1].value} {served[0]}" if served else f"consumer {consumer.stream}/{consumer.durable}"
        held[what] += consumer.records
    return dict(sorted(held.items()))


def drain_notes(zone: str, nats: NatsZoneResult) -> list[str]:
    """`draining canary fraud-scoring: 12 records`, and loudly, what a drain timeout abandoned."""
    notes = [f"draining {what}: {n} records" for what, n in retired_records(zone, nats.draining).items()]
    notes += [
        f"abandoned {n} records of {what}: no delivery or acknowledgement within the drain timeout"
        for what, n in retired_records(zone, nats.abandoned).items()
    ]
    return notes


def merge_zone_result(result: ZoneResult, nats: NatsZoneResult) -> ZoneResult:
    """A zone's Kubernetes result with its NATS outcome folded in: the NATS changes join the plan, and a Degraded
    NATS (unreachable, refused, or a stream kept because it holds messages) makes a zone that was otherwise Synced
    or Progressing `Degraded`, with the reason in the message. An Unreachable or OutOfSync zone keeps its status
    (the more specific one)."""
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
    drains = drain_notes(result.zone, nats)
    if drains:
        message = "; ".join(m for m in (message, *drains) if m)
    if nats.draining and status is ZoneStatus.SYNCED:
        status = ZoneStatus.PROGRESSING  # not done until the retired track's records are scored
    written = sum(1 for c in nats.changes if c.action in (Action.CREATE, Action.CONFIGURE))
    pruned = sum(1 for c in nats.changes if c.action is Action.PRUNE and not c.detail.startswith(DRAINING))
    return dataclasses.replace(
        result,
        status=status,
        plan=plan,
        message=message,
        applied=result.applied + written,
        pruned=result.pruned + pruned,
    )
