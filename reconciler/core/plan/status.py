"""What one pass did to a zone, and the state it left it in; `NatsZoneResult` is the same for the zone's NATS
(or the region hub's), before `merge_zone_result` folds it into the zone's `ZoneResult`."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from reconciler.core.plan.changeset import Change, ChangeSet, ZonePlan


class ZoneStatus(StrEnum):
    SYNCED = "Synced"  # every desired object applied, nothing pending, workloads healthy
    OUT_OF_SYNC = "OutOfSync"  # changes pending (plan only), or something could not be applied (see message)
    PROGRESSING = "Progressing"  # applied; workloads still rolling out
    DEGRADED = "Degraded"  # applied; workloads not healthy within the health timeout
    UNREACHABLE = "Unreachable"  # the zone's API server did not answer


@dataclass(frozen=True)
class ZoneResult:
    zone: str
    status: ZoneStatus
    revision: str | None
    plan: ZonePlan
    message: str = ""
    applied: int = 0  # objects created or configured
    pruned: int = 0
    drift: int = 0  # objects of ours that had changed in the cluster without a change in git
    foreign: tuple[str, ...] = ()  # objects with our names that are not ours (left alone)
    unhealthy: tuple[str, ...] = field(default_factory=tuple)  # e.g. 'Deployment/ns/fraud-scoring: 0/2 available'

    def line(self) -> str:
        """'ams-01  Synced  @1a2b3c4d5e6f  applied 3, pruned 0  message'"""
        revision = (self.revision or "unknown")[:12]
        tail = f"  {self.message}" if self.message else ""
        return (
            f"{self.zone:<16} {self.status.value:<12} @{revision}  applied {self.applied}, pruned {self.pruned}{tail}"
        )


class NatsStatus(StrEnum):
    READY = "Ready"
    DEGRADED = "Degraded"  # NATS unreachable or refused a change; the rest of the zone is unaffected


@dataclass(frozen=True)
class RetiredConsumer:
    """A consumer the desired state no longer has that still held records when the pass read it."""

    stream: str
    durable: str
    records: int


@dataclass(frozen=True)
class NatsZoneResult:
    zone: str  # a zone's name, or `hub-<region>` for the region hub
    status: NatsStatus
    changes: ChangeSet
    error: str | None = None
    blocked: tuple[Change, ...] = ()  # deletions refused because the stream holds messages
    draining: tuple[RetiredConsumer, ...] = ()  # kept until their records are acknowledged
    abandoned: tuple[RetiredConsumer, ...] = ()  # deleted with their records: no progress for the drain timeout

    @property
    def degraded(self) -> bool:
        return self.status is NatsStatus.DEGRADED
