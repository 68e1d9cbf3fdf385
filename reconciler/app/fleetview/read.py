"""Reading a region for the fleet view, from the real sources every time (no cache of our own):

- each zone's own records: its inventory ConfigMap (revision, status, paused basis; its last write is when the
  status last changed) and its workloads' (Deployments', StatefulSets') health, through the kube shell;
- the branch head: the desired state loaded from the repository at a revision (`load_desired`);
- Prometheus, when given: what the runtimes serve (`edgeops_model_info`) and their model pulls.

    rows = region_status(load, "eu-west", StatusOptions(kubeconfig=path, prometheus="http://prom:9090"), now)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from reconciler.app.reconcile import WORKING_TREE, WORKLOAD_KINDS, read_inventory, workload_problem
from reconciler.app.reconcile.inventory import InventoryUnreadable
from reconciler.app.reconcile.zones import connect_zone
from reconciler.core.fleetview import (
    PullReading,
    Served,
    ZoneReading,
    ZoneRow,
    pull_failures,
    pull_last_success,
    served,
    zone_rows,
)
from reconciler.core.load import LoadResult
from reconciler.core.render import INVENTORY, MANAGED_BY, MANAGED_BY_VALUE
from reconciler.core.spec import Zone
from reconciler.shells.kube import KubeConfigError, KubeError, Unreachable, ZoneClient
from reconciler.shells.prometheus import Prometheus, PrometheusError


@dataclass(frozen=True)
class StatusOptions:
    kubeconfig: Path | None = None
    namespace: str = "edgeops"
    prometheus: str | None = None  # URL; None: no served/pull columns
    stale_after: timedelta = timedelta(minutes=10)
    timeout_s: float = 5.0


@dataclass(frozen=True)
class RegionStatus:
    region: str
    rows: tuple[ZoneRow, ...]
    problems: tuple[str, ...] = field(default_factory=tuple)  # sources that could not be read (Prometheus)


def _written_at(obj: Mapping[str, Any]) -> datetime | None:
    """The latest managedFields time: when the object was last written by anyone."""
    times = [entry.get("time") for entry in obj.get("metadata", {}).get("managedFields") or []]
    parsed = [datetime.fromisoformat(t.replace("Z", "+00:00")) for t in times if isinstance(t, str)]
    return max(parsed) if parsed else None


def read_zone(zone: Zone, options: StatusOptions) -> ZoneReading:
    """The zone's own records; a zone that does not answer (or has no context) has `error` set."""
    try:
        client = connect_zone(zone, options.kubeconfig, options.timeout_s)
    except KubeConfigError as error:
        return ZoneReading(zone.name, error=str(error))
    try:
        return _read(client, zone.name, options.namespace)
    except Unreachable as error:
        return ZoneReading(zone.name, error=str(error))
    finally:
        client.close()


def _read(client: ZoneClient, zone: str, namespace: str) -> ZoneReading:
    try:
        inventory = read_inventory(client, namespace)
    except InventoryUnreadable as error:
        if isinstance(error.__cause__, Unreachable):
            raise error.__cause__ from error
        return ZoneReading(zone, status="Unknown", unhealthy=(str(error),))
    raw = client.get("v1", "ConfigMap", namespace, INVENTORY) if inventory.revision else None
    problems: list[str] = []
    for kind in WORKLOAD_KINDS:
        try:
            workloads = client.list("apps/v1", kind, namespace, f"{MANAGED_BY}={MANAGED_BY_VALUE}")
        except Unreachable:
            raise
        except KubeError as error:
            problems.append(f"cannot list {kind}s: {error}")
            continue
        for obj in workloads:
            problem = workload_problem(obj)
            if problem is not None:
                problems.append(f"{kind}/{obj['metadata']['name']}: {problem}")
    return ZoneReading(
        zone,
        revision=inventory.revision,
        status=inventory.status,
        basis=inventory.basis,
        recorded_at=_written_at(raw) if raw else None,
        unhealthy=tuple(problems),
    )


def read_runtime(prom: Prometheus, zones: Iterable[str], now: datetime) -> dict[str, ZoneReading]:
    """Per zone, only `served` and `pulls` filled: what the runtimes there report."""
    names = list(zones)
    serving: dict[str, dict[tuple[str, str], Served]] = {z: {} for z in names}
    for labels, _ in prom.vector(served(names), now):
        if labels.get("zone") in serving:
            key = (labels.get("model", ""), labels.get("track", ""))
            serving[labels["zone"]][key] = Served(labels.get("version", ""), labels.get("digest", ""))
    failures: dict[str, dict[str, float]] = {z: {} for z in names}
    for labels, value in prom.vector(pull_failures(names), now):
        if labels.get("zone") in failures:
            failures[labels["zone"]][labels.get("model", "")] = value or 0.0
    last: dict[str, dict[str, datetime]] = {z: {} for z in names}
    for labels, value in prom.vector(pull_last_success(names), now):
        if labels.get("zone") in last and value is not None:
            last[labels["zone"]][labels.get("model", "")] = datetime.fromtimestamp(value, tz=UTC)
    readings = {}
    for zone in names:
        models = set(failures[zone]) | set(last[zone])
        pulls = {m: PullReading(failures[zone].get(m, 0.0), last[zone].get(m)) for m in models}
        readings[zone] = ZoneReading(zone, served=serving[zone], pulls=pulls)
    return readings


def region_status(load: LoadResult, region: str, options: StatusOptions, now: datetime) -> RegionStatus:
    """The region's rows at `load` (the branch head): every zone read concurrently."""
    spec = load.spec
    assert spec is not None, "the caller checks that the desired state loads"
    zones = spec.zones_in(region)
    with ThreadPoolExecutor(max_workers=max(1, min(8, len(zones)))) as pool:
        readings = {r.zone: r for r in pool.map(lambda z: read_zone(z, options), zones)}
    problems: list[str] = []
    if options.prometheus is not None:
        try:
            runtime = read_runtime(Prometheus(options.prometheus, timeout=options.timeout_s), readings, now)
        except PrometheusError as error:
            problems.append(str(error))
        else:
            readings = {z: replace(r, served=runtime[z].served, pulls=runtime[z].pulls) for z, r in readings.items()}
    rows = zone_rows(
        spec, region, head=load.revision or WORKING_TREE, readings=readings, now=now, stale_after=options.stale_after
    )
    return RegionStatus(region, rows, tuple(problems))
