"""One row per zone of a region, assembled from what was read (no I/O here): the zone's own records (its
inventory ConfigMap and its workloads), the branch's desired state, and the runtime's Prometheus series.

    rows = zone_rows(spec, "eu-west", head="1a2b...", readings={...}, now=now, stale_after=timedelta(minutes=10))

A zone's status is what its inventory says the last pass left it in (Synced, Degraded, ...), except when the zone
does not answer now (Unreachable) or one of its workloads (Deployments, StatefulSets) is unhealthy now (Degraded,
with the reason). A zone is stale when it does not answer, or when its applied revision is not the branch head and
its record has not changed for `stale_after`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from reconciler.core.spec import FleetSpec, ModelAssignment

UNREACHABLE = "Unreachable"
DEGRADED = "Degraded"
UNKNOWN = "Unknown"


@dataclass(frozen=True)
class Served:
    """What the runtime reports it serves for one model and track (`edgeops_model_info`)."""

    version: str
    digest: str


@dataclass(frozen=True)
class PullReading:
    """The runtime's model pull series for one model: failures counted, and the last success (unix time)."""

    failures: float = 0.0
    last_success: datetime | None = None


@dataclass(frozen=True)
class ZoneReading:
    """What was read from one zone: `error` set when it did not answer (nothing else then)."""

    zone: str
    error: str | None = None
    revision: str | None = None  # the inventory's
    status: str | None = None  # the inventory's: what the last pass left the zone in
    basis: str | None = None  # a paused zone's basis revision
    recorded_at: datetime | None = None  # when the inventory last changed
    unhealthy: tuple[str, ...] = ()  # 'Deployment/ns/name: 0/2 available'
    served: Mapping[tuple[str, str], Served] = field(default_factory=dict)  # (model, track) -> served
    pulls: Mapping[str, PullReading] = field(default_factory=dict)  # model -> pull series

    @property
    def reachable(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class ModelRow:
    model: str
    stable_version: str
    stable_digest: str
    canary_version: str | None = None
    canary_digest: str | None = None
    canary_phase: str | None = None
    canary_weight: int | None = None
    at_weight_since: datetime | None = None
    served_digest: str | None = None  # what the runtime reports for the stable track (None: no series)
    pull: str = UNKNOWN  # ok | failing | unknown


@dataclass(frozen=True)
class ZoneRow:
    region: str
    zone: str
    reachable: bool
    since: datetime | None  # since when the zone has been in its status (its record's last change)
    applied: str | None
    head: str | None
    status: str
    reason: str
    models: tuple[ModelRow, ...]
    last_contact: datetime | None
    stale: bool
    paused: bool = False

    @property
    def in_sync(self) -> bool:
        return self.applied is not None and self.applied == self.head

    def to_json(self) -> dict[str, Any]:
        data = {key: _iso(value) for key, value in asdict(self).items()}
        data["in_sync"] = self.in_sync
        return data


def _iso(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _iso(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_iso(v) for v in value]
    return value


def _digest(spec: FleetSpec, model: str, version: str) -> str:
    found = spec.models.get(model)
    if found is None:
        return ""
    return next((v.artifact.digest for v in found.spec.versions if v.version == version), "")


def _pull_state(reading: PullReading | None) -> str:
    if reading is None:
        return UNKNOWN
    return "failing" if reading.failures > 0 else "ok"


def model_row(spec: FleetSpec, assignment: ModelAssignment, reading: ZoneReading) -> ModelRow:
    served = reading.served.get((assignment.model, "stable"))
    canary = assignment.canary
    return ModelRow(
        model=assignment.model,
        stable_version=assignment.version,
        stable_digest=_digest(spec, assignment.model, assignment.version),
        canary_version=canary.version if canary else None,
        canary_digest=_digest(spec, assignment.model, canary.version) if canary else None,
        canary_phase=canary.phase if canary else None,
        canary_weight=canary.weight if canary else None,
        at_weight_since=canary.step_started if canary else None,
        served_digest=served.digest if served else None,
        pull=_pull_state(reading.pulls.get(assignment.model)),
    )


def zone_rows(
    spec: FleetSpec,
    region: str,
    *,
    head: str | None,
    readings: Mapping[str, ZoneReading],
    now: datetime,
    stale_after: timedelta,
) -> tuple[ZoneRow, ...]:
    """Every zone of `region` in name order; a zone without a reading counts as not answering."""
    rows = []
    for zone in sorted(spec.zones_in(region), key=lambda z: z.name):
        reading = readings.get(zone.name) or ZoneReading(zone.name, error="not read")
        status, reason = _status(reading)
        models = tuple(model_row(spec, a, reading) for a in zone.spec.models)
        failing = [m.model for m in models if m.pull == "failing"]
        if failing and status not in (UNREACHABLE, DEGRADED):
            reason = "; ".join(filter(None, (reason, f"model pull failing: {', '.join(failing)}")))
        since = reading.recorded_at
        behind = reading.revision != head
        stale = not reading.reachable or (behind and (since is None or now - since > stale_after))
        rows.append(
            ZoneRow(
                region=region,
                zone=zone.name,
                reachable=reading.reachable,
                since=since,
                applied=reading.basis or reading.revision,
                head=head,
                status=status,
                reason=reason,
                models=models,
                last_contact=now if reading.reachable else since,
                stale=stale,
                paused=zone.spec.paused,
            )
        )
    return tuple(rows)


def _status(reading: ZoneReading) -> tuple[str, str]:
    if not reading.reachable:
        return UNREACHABLE, reading.error or ""
    if reading.unhealthy:
        return DEGRADED, "; ".join(reading.unhealthy)
    if reading.status is None:
        return UNKNOWN, "no inventory: never applied"
    return reading.status, ""
