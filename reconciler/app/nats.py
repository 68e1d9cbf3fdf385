"""Plan and apply a zone's NATS state (and a region hub's): JetStream assets through the JetStream API, and for
servers run directly the config file plus a reload signal. `apply_nats` and `apply_hub` do both (`write=False`:
plan only); `plan_nats` and `plan_region_nats` are their planning faces for `edgeops plan --nats`.

Results never raise for an unreachable server: `NatsZoneResult.status` is `Degraded` with the error, so the
region pass marks that zone and moves on (one zone never blocks the others). Unreachable servers, and refused
logins (a server reloading its config refuses logins for a moment), are retried with backoff inside one pass
(`RetryPolicy`); the region loop's next pass retries again.
"""

from __future__ import annotations

import asyncio
import dataclasses
import difflib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from reconciler.core.nats import (
    JetStreamAssets,
    NatsRenderError,
    ServerSettings,
    hub_assets,
    render_conf,
    server_config,
    zone_assets,
)
from reconciler.core.plan import (
    DEFAULT_DRAIN_SETTLE_S,
    DEFAULT_DRAIN_TIMEOUT_S,
    NATS_SYSTEM,
    Action,
    Change,
    ChangeSet,
    DrainPolicy,
    NatsStatus,
    NatsZoneResult,
    Op,
    RetiredConsumer,
    Step,
    drain_notes,
    plan_jetstream,
)
from reconciler.core.spec import FleetSpec, Zone
from reconciler.shells.nats import (
    JetStreamAdmin,
    NatsEndpoint,
    NatsError,
    NatsLoginRefused,
    NatsServerConfigError,
    NatsUnreachable,
    read_config,
    reload_and_wait,
    write_config,
)

__all__ = [  # the result types are the core's, named here too for callers of these functions
    "DEFAULT_RETRY",
    "ONCE",
    "DirectServer",
    "NatsOptions",
    "NatsStatus",
    "NatsZoneResult",
    "RetryPolicy",
    "apply_hub",
    "apply_nats",
    "hub_name",
    "plan_nats",
    "plan_region_nats",
    "through_hub",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3
    first_delay_s: float = 0.5
    max_delay_s: float = 5.0


DEFAULT_RETRY = RetryPolicy()
DEFAULT_DRAIN = DrainPolicy()  # `now` is set at each read
ONCE = RetryPolicy(attempts=1)  # planning: report an unreachable server at once


@dataclass(frozen=True)
class NatsOptions:
    """NATS in a region pass: every zone's JetStream assets through the region hub (by the zone's domain), then
    the hub's own stream. Streams holding messages are deleted (pruned or recreated) only when allowed. A retired
    consumer holding records drains, and is deleted with them once it made no progress for `drain_timeout_s`;
    a drained one once its track was quiet for `drain_settle_s`."""

    hub: NatsEndpoint
    allow_stream_delete: bool = False
    retry: RetryPolicy = DEFAULT_RETRY
    drain_timeout_s: float = DEFAULT_DRAIN_TIMEOUT_S
    drain_settle_s: float = DEFAULT_DRAIN_SETTLE_S  # a retired track goes only once quiet this long

    @property
    def drain(self) -> DrainPolicy:
        return DrainPolicy(timeout_s=self.drain_timeout_s, settle_s=self.drain_settle_s)


@dataclass(frozen=True)
class DirectServer:
    """A nats-server run directly: its config file, its pid (for the reload signal) and where it listens."""

    config_path: Path
    pid: int
    settings: ServerSettings

    @property
    def monitor_url(self) -> str:
        """Its monitoring endpoint, on this host (the server runs here: it is signalled by pid)."""
        host = self.settings.host if self.settings.host not in ("0.0.0.0", "::", "") else "127.0.0.1"  # noqa: S104
        return f"http://{host}:{self.settings.monitor_port}"


def _config_change(name: str, current: str | None, desired: str) -> Change:
    if current == desired:
        return Change(Action.UNCHANGED, "ServerConfig", "", name, system=NATS_SYSTEM)
    diff = "".join(
        difflib.unified_diff(
            (current or "").splitlines(keepends=True),
            desired.splitlines(keepends=True),
            f"live/{name}",
            f"desired/{name}",
        )
    )
    return Change(Action.CREATE if current is None else Action.CONFIGURE, "ServerConfig", "", name, diff, NATS_SYSTEM)


async def _sync_server_config(spec: FleetSpec, zone: Zone, server: DirectServer, *, write: bool) -> Change:
    """Plan, or write the config and wait until the server has applied it: the JetStream step that follows
    connects, and a connection during the reload can be refused. A config the server refuses is taken back out
    of the file, which keeps saying what the server runs, so the next pass tries (and reports) it again."""
    desired = render_conf(server_config(spec, zone, server.settings))
    current = read_config(server.config_path)
    change = _config_change(server.config_path.name, current, desired)
    if write and change.action.writes:
        write_config(server.config_path, desired)
        try:
            await reload_and_wait(server.pid, server.monitor_url)
        except NatsServerConfigError:
            if current is not None:
                write_config(server.config_path, current)
            raise
    return change


async def _plan_or_apply(
    desired: JetStreamAssets,
    endpoint: NatsEndpoint,
    *,
    revision: str | None,
    allow_stream_delete: bool,
    write: bool,
    drain: DrainPolicy,
    create_only: bool = False,
) -> tuple[tuple[Step, ...], tuple[Step, ...]]:
    """The steps carried out (or planned), and the retired consumers still holding records (draining or
    abandoned), whichever steps `create_only` leaves."""
    admin = await JetStreamAdmin.connect(endpoint)
    async with admin:
        drain = dataclasses.replace(drain, now=datetime.now(UTC))
        steps = plan_jetstream(desired, await admin.read(), allow_stream_delete=allow_stream_delete, drain=drain)
        held = tuple(s for s in steps if s.kind == "Consumer" and (s.op is Op.DRAIN or s.held))
        if create_only:
            steps = tuple(step for step in steps if step.op is Op.CREATE)
        if write:
            for step in steps:
                await admin.execute(step, revision)
    return steps, held


def _retired(steps: tuple[Step, ...], op: Op) -> tuple[RetiredConsumer, ...]:
    return tuple(RetiredConsumer(s.stream, s.durable, s.held) for s in steps if s.op is op)


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
    create_only: bool = False,
    drain: DrainPolicy = DEFAULT_DRAIN,
) -> NatsZoneResult:
    delay = retry.first_delay_s
    last: NatsError | None = None
    for attempt in range(retry.attempts):
        try:
            steps, held = await _plan_or_apply(
                desired,
                endpoint,
                revision=revision,
                allow_stream_delete=allow_stream_delete,
                write=write,
                drain=drain,
                create_only=create_only,
            )
        except (NatsUnreachable, NatsLoginRefused) as exc:  # a refused login may be a reload under way: retried
            last = exc
            if attempt + 1 < retry.attempts:
                await asyncio.sleep(delay)
                delay = min(delay * 2, retry.max_delay_s)
            continue
        except NatsError as exc:
            return NatsZoneResult(name, NatsStatus.DEGRADED, ChangeSet(before), str(exc))
        changes = ChangeSet((*before, *(s.change for s in steps)))
        blocked = tuple(s.change for s in steps if s.op is Op.BLOCKED)
        done = NatsZoneResult(
            name, NatsStatus.READY, changes, None, blocked, _retired(held, Op.DRAIN), _retired(held, Op.DELETE)
        )
        if write and done.abandoned and not create_only:
            for note in drain_notes(name, dataclasses.replace(done, draining=())):
                log.error("records abandoned: %s", note, extra={"zone": name, "detail": note})
        return done
    what = "NATS refused the login" if isinstance(last, NatsLoginRefused) else "NATS unreachable"
    return NatsZoneResult(name, NatsStatus.DEGRADED, ChangeSet(before), f"{what}: {last}")


async def apply_nats(
    spec: FleetSpec,
    zone: Zone,
    endpoint: NatsEndpoint,
    *,
    revision: str | None,
    write: bool = True,
    server: DirectServer | None = None,
    allow_stream_delete: bool = False,
    retry: RetryPolicy = DEFAULT_RETRY,
    create_only: bool = False,
    drain: DrainPolicy = DEFAULT_DRAIN,
) -> NatsZoneResult:
    """Bring the zone's server config (direct servers only) and JetStream assets to the desired state
    (`write=False`: only say what that would change). `create_only`: only create the assets the zone lacks —
    nothing updated, deleted or reconfigured (the server config, which routes traffic, included); the result still
    names the retired consumers holding records."""
    before: tuple[Change, ...] = ()
    try:
        desired = zone_assets(zone)  # refuses bad subjects before anything is written
        if server is not None and not create_only:
            before = (await _sync_server_config(spec, zone, server, write=write),)
    except (NatsRenderError, NatsError) as exc:
        return NatsZoneResult(zone.name, NatsStatus.DEGRADED, ChangeSet(), str(exc))
    return await _with_retries(
        zone.name,
        desired,
        endpoint,
        revision=revision,
        allow_stream_delete=allow_stream_delete,
        write=write,
        retry=retry,
        before=before,
        create_only=create_only,
        drain=drain,
    )


async def plan_nats(
    spec: FleetSpec,
    zone: Zone,
    endpoint: NatsEndpoint,
    *,
    server: DirectServer | None = None,
    allow_stream_delete: bool = False,
    retry: RetryPolicy = ONCE,
) -> NatsZoneResult:
    """What applying would change; writes nothing."""
    return await apply_nats(
        spec,
        zone,
        endpoint,
        revision=None,
        write=False,
        server=server,
        allow_stream_delete=allow_stream_delete,
        retry=retry,
    )


def through_hub(hub: NatsEndpoint, zone: Zone) -> NatsEndpoint:
    """The zone's JetStream domain addressed through the region hub and the zone's leafnode."""
    return dataclasses.replace(hub, domain=zone.spec.nats.domain)


def hub_name(region: str) -> str:
    """How the hub appears next to the zones in plans and results."""
    return f"hub-{region}"


async def apply_hub(
    spec: FleetSpec,
    region: str,
    endpoint: NatsEndpoint,
    *,
    revision: str | None,
    write: bool = True,
    allow_stream_delete: bool = False,
    retry: RetryPolicy = DEFAULT_RETRY,
) -> NatsZoneResult:
    """The region hub's stream sourcing every zone's results (`write=False`: plan only)."""
    return await _with_retries(
        hub_name(region),
        hub_assets(spec, region),
        endpoint,
        revision=revision,
        allow_stream_delete=allow_stream_delete,
        write=write,
        retry=retry,
    )


async def plan_region_nats(
    spec: FleetSpec, region: str, hub: NatsEndpoint, *, zone: str | None = None, allow_stream_delete: bool = False
) -> list[NatsZoneResult]:
    """One plan per zone of the region (or just `zone`) through the hub, then the hub's own (`hub-<region>`);
    `reconciler.core.plan.with_nats` folds them into the Kubernetes plans."""
    zones = [z for z in spec.zones_in(region) if zone is None or z.name == zone]
    plans = [plan_nats(spec, z, through_hub(hub, z), allow_stream_delete=allow_stream_delete) for z in zones]
    results = list(await asyncio.gather(*plans))
    if zone is None:
        results.append(
            await apply_hub(
                spec, region, hub, revision=None, write=False, retry=ONCE, allow_stream_delete=allow_stream_delete
            )
        )
    return results
