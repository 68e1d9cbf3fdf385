"""Plan and apply a zone's NATS state (and a region hub's): JetStream assets through the JetStream API, and for
servers run directly the config file plus a reload signal.

Results never raise for an unreachable server: `NatsZoneResult.status` is `Degraded` with the error, so the
region loop marks that zone and moves on (one zone never blocks the others). Unreachable servers are retried with
backoff inside one pass (`RetryPolicy`); the region loop's next pass retries again.
"""

from __future__ import annotations

import asyncio
import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from reconciler.core.nats import NatsRenderError, ServerSettings, render_conf, server_config
from reconciler.core.nats.assets import JetStreamAssets, hub_assets, zone_assets
from reconciler.core.nats.diff import SYSTEM, Op, Step, plan_jetstream
from reconciler.core.plan import Action, Change, ChangeSet
from reconciler.core.spec import FleetSpec, Zone
from reconciler.shells.nats import (
    JetStreamAdmin,
    NatsEndpoint,
    NatsError,
    NatsUnreachable,
    read_config,
    signal_reload,
    write_config,
)


class NatsStatus(StrEnum):
    READY = "Ready"
    DEGRADED = "Degraded"  # NATS unreachable or refused a change; the rest of the zone is unaffected


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3
    first_delay_s: float = 0.5
    max_delay_s: float = 5.0


DEFAULT_RETRY = RetryPolicy()


@dataclass(frozen=True)
class DirectServer:
    """A nats-server run directly: its config file, its pid (for the reload signal) and where it listens."""

    config_path: Path
    pid: int
    settings: ServerSettings


@dataclass(frozen=True)
class NatsZoneResult:
    zone: str
    status: NatsStatus
    changes: ChangeSet
    error: str | None = None
    blocked: tuple[Change, ...] = ()

    @property
    def degraded(self) -> bool:
        return self.status is NatsStatus.DEGRADED


def _config_change(name: str, current: str | None, desired: str) -> Change:
    if current == desired:
        return Change(Action.UNCHANGED, "ServerConfig", "", name, system=SYSTEM)
    diff = "".join(
        difflib.unified_diff(
            (current or "").splitlines(keepends=True),
            desired.splitlines(keepends=True),
            f"live/{name}",
            f"desired/{name}",
        )
    )
    return Change(Action.CREATE if current is None else Action.CONFIGURE, "ServerConfig", "", name, diff, SYSTEM)


def _sync_server_config(spec: FleetSpec, zone: Zone, server: DirectServer, *, write: bool) -> Change:
    desired = render_conf(server_config(spec, zone, server.settings))
    change = _config_change(server.config_path.name, read_config(server.config_path), desired)
    if write and change.action.writes:
        write_config(server.config_path, desired)
        signal_reload(server.pid)
    return change


async def _plan_or_apply(
    desired: JetStreamAssets, endpoint: NatsEndpoint, *, revision: str | None, allow_stream_delete: bool, write: bool
) -> tuple[Step, ...]:
    admin = await JetStreamAdmin.connect(endpoint)
    async with admin:
        steps = plan_jetstream(desired, await admin.read(), allow_stream_delete=allow_stream_delete)
        if write:
            for step in steps:
                await admin.execute(step, revision)
    return steps


async def _with_retries(
    name: str,
    desired: JetStreamAssets,
    endpoint: NatsEndpoint,
    *,
    revision: str | None,
    allow_stream_delete: bool,
    write: bool,
    retry: RetryPolicy,
    before: tuple[Change, ...] = (),
) -> NatsZoneResult:
    delay = retry.first_delay_s
    last: NatsError | None = None
    for attempt in range(retry.attempts):
        try:
            steps = await _plan_or_apply(
                desired, endpoint, revision=revision, allow_stream_delete=allow_stream_delete, write=write
            )
        except NatsUnreachable as exc:
            last = exc
            if attempt + 1 < retry.attempts:
                await asyncio.sleep(delay)
                delay = min(delay * 2, retry.max_delay_s)
            continue
        except NatsError as exc:
            return NatsZoneResult(name, NatsStatus.DEGRADED, ChangeSet(before), str(exc))
        changes = ChangeSet((*before, *(s.change for s in steps)))
        blocked = tuple(s.change for s in steps if s.op is Op.BLOCKED)
        return NatsZoneResult(name, NatsStatus.READY, changes, None, blocked)
    return NatsZoneResult(name, NatsStatus.DEGRADED, ChangeSet(before), f"NATS unreachable: {last}")


async def plan_nats(
    spec: FleetSpec,
    zone: Zone,
    endpoint: NatsEndpoint,
    *,
    server: DirectServer | None = None,
    allow_stream_delete: bool = False,
    retry: RetryPolicy = RetryPolicy(attempts=1),
) -> NatsZoneResult:
    """What applying would change; writes nothing."""
    try:
        desired = zone_assets(zone)
        before = (_sync_server_config(spec, zone, server, write=False),) if server is not None else ()
    except (NatsRenderError, NatsError) as exc:
        return NatsZoneResult(zone.name, NatsStatus.DEGRADED, ChangeSet(), str(exc))
    return await _with_retries(
        zone.name,
        desired,
        endpoint,
        revision=None,
        allow_stream_delete=allow_stream_delete,
        write=False,
        retry=retry,
        before=before,
    )


async def apply_nats(
    spec: FleetSpec,
    zone: Zone,
    endpoint: NatsEndpoint,
    *,
    revision: str | None,
    server: DirectServer | None = None,
    allow_stream_delete: bool = False,
    retry: RetryPolicy = RetryPolicy(),
) -> NatsZoneResult:
    """Bring the zone's server config (direct servers only) and JetStream assets to the desired state."""
    before: tuple[Change, ...] = ()
    try:
        desired = zone_assets(zone)  # refuses bad subjects before anything is written
        if server is not None:
            before = (_sync_server_config(spec, zone, server, write=True),)
    except (NatsRenderError, NatsError) as exc:
        return NatsZoneResult(zone.name, NatsStatus.DEGRADED, ChangeSet(), str(exc))
    return await _with_retries(
        zone.name,
        desired,
        endpoint,
        revision=revision,
        allow_stream_delete=allow_stream_delete,
        write=True,
        retry=retry,
        before=before,
    )


async def apply_hub(
    spec: FleetSpec,
    region: str,
    endpoint: NatsEndpoint,
    *,
    revision: str | None,
    write: bool = True,
    allow_stream_delete: bool = False,
    retry: RetryPolicy = RetryPolicy(),
) -> NatsZoneResult:
    """The region hub's stream sourcing every zone's results (`write=False`: plan only)."""
    return await _with_retries(
        f"hub-{region}",
        hub_assets(spec, region),
        endpoint,
        revision=revision,
        allow_stream_delete=allow_stream_delete,
        write=write,
        retry=retry,
    )


async def apply_region_nats(
    spec: FleetSpec,
    zones: Sequence[Zone],
    endpoints: Mapping[str, NatsEndpoint],
    *,
    revision: str | None,
    servers: Mapping[str, DirectServer] | None = None,
    allow_stream_delete: bool = False,
    retry: RetryPolicy = RetryPolicy(),
) -> dict[str, NatsZoneResult]:
    """Every zone at once; a zone without an endpoint, or whose NATS is down, is Degraded alone."""
    servers = servers or {}

    async def one(zone: Zone) -> NatsZoneResult:
        endpoint = endpoints.get(zone.name)
        if endpoint is None:
            return NatsZoneResult(zone.name, NatsStatus.DEGRADED, ChangeSet(), "no NATS endpoint configured")
        return await apply_nats(
            spec,
            zone,
            endpoint,
            revision=revision,
            server=servers.get(zone.name),
            allow_stream_delete=allow_stream_delete,
            retry=retry,
        )

    results = await asyncio.gather(*(one(z) for z in zones))
    return {r.zone: r for r in results}
