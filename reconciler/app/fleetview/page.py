"""The fleet page's data, read afresh on every request from the real sources: every region's rows
(`region_status`), each canary's p95 and error rate (canary and stable) over the last `chart_span` from
Prometheus, and the open edgeops pull requests and last rollbacks from the forge. A source that cannot be read is
named on the page; the rest still shows.

    html = fleet_page(PageSources(repo=Path("fleet-repo"), status=StatusOptions(...)), datetime.now(UTC))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from reconciler.app.desired import load_desired
from reconciler.app.fleetview.read import StatusOptions, region_status
from reconciler.app.reconcile import serve_page
from reconciler.core.canary import Selector, TrackQueries, thresholds_for
from reconciler.core.fleetview import CanaryPanel, FleetPage, Link, Point, RegionTable, render_page
from reconciler.core.spec import FleetSpec
from reconciler.shells.forge import Forge, ForgeError
from reconciler.shells.prometheus import Prometheus, PrometheusError
from reconciler.shells.tree import TreeReadError

ROLLBACK_LABEL = "canary:rollback"


@dataclass(frozen=True)
class PageSources:
    repo: Path
    rev: str | None = "HEAD"
    status: StatusOptions = field(default_factory=StatusOptions)
    forge: Forge | None = None
    chart_span: timedelta = timedelta(hours=1)
    chart_step: timedelta = timedelta(minutes=1)
    chart_window: timedelta = timedelta(minutes=1)  # each point: p95 and error rate over this much before it
    rollbacks: int = 10


def _series(prom: Prometheus, query: str, sources: PageSources, now: datetime) -> dict[datetime, float | None]:
    return dict(prom.series(query, now - sources.chart_span, now, sources.chart_step))


def _points(canary: dict[datetime, float | None], stable: dict[datetime, float | None]) -> tuple[Point, ...]:
    return tuple(Point(t, canary.get(t), stable.get(t)) for t in sorted(set(canary) | set(stable)))


def canary_panels(spec: FleetSpec, prom: Prometheus | None, sources: PageSources, now: datetime) -> list[CanaryPanel]:
    panels = []
    window = sources.chart_window
    for zone in sorted(spec.zones, key=lambda z: (z.spec.region, z.name)):
        for a in zone.spec.models:
            if a.canary is None:
                continue
            policy = spec.policy_for(a)
            slo = spec.fleet.spec.slo
            limits = thresholds_for(spec, policy, a.model) if policy is not None else None
            p95: tuple[Point, ...] = ()
            errors: tuple[Point, ...] = ()
            if prom is not None:
                canary = TrackQueries.of(Selector(zone.name, a.model, a.canary.version, "canary"), window)
                stable = TrackQueries.of(Selector(zone.name, a.model, a.version, "stable"), window)
                p95 = _points(
                    _series(prom, canary.p95_latency_ms, sources, now),
                    _series(prom, stable.p95_latency_ms, sources, now),
                )
                errors = _points(
                    _series(prom, canary.error_rate_percent, sources, now),
                    _series(prom, stable.error_rate_percent, sources, now),
                )
            panels.append(
                CanaryPanel(
                    region=zone.spec.region,
                    zone=zone.name,
                    model=a.model,
                    version=a.canary.version,
                    phase=a.canary.phase,
                    weight=a.canary.weight,
                    p95_ms=p95,
                    error_percent=errors,
                    slo_p95_ms=limits.p95_latency_ms if limits else slo.p95_latency_ms,
                    slo_error_percent=limits.error_rate_percent if limits else slo.error_rate_percent,
                )
            )
    return panels


def _forge_links(forge: Forge, rollbacks: int) -> tuple[list[Link], list[Link]]:
    open_pulls = [Link(p.title, p.url, number=p.number) for p in forge.pulls("open", 50) if "edgeops" in p.labels]
    closed = [p for p in forge.pulls("closed", 100) if ROLLBACK_LABEL in p.labels]
    return open_pulls, [Link(p.title, p.url, number=p.number) for p in closed[:rollbacks]]


def gather_page(sources: PageSources, now: datetime) -> FleetPage:
    problems: list[str] = []
    try:
        load = load_desired(sources.repo, sources.rev)
    except TreeReadError as error:
        return FleetPage(now, (), problems=(str(error),))
    if load.spec is None:
        return FleetPage(now, (), problems=tuple(str(p) for p in load.errors[:5]))
    spec = load.spec
    regions = []
    for region in spec.fleet.spec.regions:
        status = region_status(load, region.name, sources.status, now)
        regions.append(RegionTable(region.name, status.rows, status.problems))
    prom_url = sources.status.prometheus
    prom = Prometheus(prom_url, timeout=sources.status.timeout_s) if prom_url else None
    try:
        canaries = canary_panels(spec, prom, sources, now)
    except PrometheusError as error:
        problems.append(str(error))
        canaries = canary_panels(spec, None, sources, now)
    pulls: list[Link] = []
    rollbacks: list[Link] = []
    if sources.forge is not None:
        try:
            pulls, rollbacks = _forge_links(sources.forge, sources.rollbacks)
        except ForgeError as error:
            problems.append(str(error))
    return FleetPage(now, regions, canaries, pulls, rollbacks, problems)


def fleet_page(sources: PageSources, now: datetime) -> str:
    return render_page(gather_page(sources, now))


def start_fleet_page(sources: PageSources, port: int = 0, host: str = "127.0.0.1") -> tuple[Any, str]:
    """Serve the page (and an empty `/metrics`) in the background; the server and the page's URL. Stop it with
    `server.shutdown()` then `server.server_close()`. `port=0` picks a free port."""
    server = serve_page(CollectorRegistry(), lambda: fleet_page(sources, datetime.now(UTC)), port, host)
    bound_port = server.server_address[1]
    return server, f"http://{host}:{bound_port}/"
