"""A zone's nats-server configuration as a plain dict: JetStream domain, the leafnode to the region hub, the
accounts and permissions of sensors, runtime and reconciler, and the weighted subject mappings that route each
input subject to the stable, mirrored and canary destinations.

The same dict feeds two outlets: `helm_values` (the official NATS Helm chart, wrapped in K3s's HelmChart by the
Kubernetes renderer) and `reconciler.core.nats.conf.render_conf` (a config file for servers run directly).
Secrets never appear: passwords are `<< $ENV >>` references (the chart's and our renderer's syntax for an
unquoted config variable that nats-server resolves from its environment).
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.core.nats import naming
from reconciler.core.nats.naming import Route
from reconciler.core.spec import FleetSpec, ModelAssignment, Zone
from runtime import Track

Config = dict[str, object]
NOTHING = "_edgeops.none"  # an allow-list of one subject nobody uses (an empty list reads as "no rule")


class NatsRenderError(ValueError):
    """The desired state cannot be turned into a NATS configuration; the message names the zone and why."""


@dataclass(frozen=True)
class ServerSettings:
    """Where the server listens and keeps its files. The defaults suit the Helm chart's pod; tests override."""

    host: str = "0.0.0.0"  # noqa: S104 - the zone's sensors and runtime reach the server from other pods
    port: int = 4222
    monitor_port: int = 8222
    leafnode_port: int | None = None  # hubs only: where zone leafnodes connect
    store_dir: str = "/data/jetstream"
    max_file_store: str = "10G"
    max_memory_store: str = "256M"


def env_ref(name: str) -> str:
    """A config variable resolved from the server's environment (rendered unquoted as `$NAME`)."""
    return f"<< ${name} >>"


def _under(subject: str, root: str) -> bool:
    return subject == root or subject.startswith(root + ".")


@dataclass(frozen=True)
class SubjectRoot:
    """A subject tree one of the zone's streams captures; `path` locates it in the zone file (None: derived)."""

    what: str
    subject: str
    path: tuple[str | int, ...] | None


def subject_overlaps(zone: Zone) -> list[tuple[SubjectRoot, SubjectRoot]]:
    """Pairs of subject trees that would overlap (nats-server rejects overlapping stream subjects): an input
    stream captures `<input>.>`, the result stream `<output>` and `<output>.>`, the dead letters
    `edgeops.dlq.<zone>.>`. So no two of these subject trees may contain one another."""
    roots = [
        SubjectRoot(f"model {a.model} input", a.input, ("spec", "models", i, "input"))
        for i, a in enumerate(zone.spec.models)
    ]
    roots += [
        SubjectRoot(f"model {a.model} output", a.output, ("spec", "models", i, "output"))
        for i, a in enumerate(zone.spec.models)
    ]
    roots.append(SubjectRoot("dead letters", naming.dead_letter_stream_subject(zone.name).removesuffix(".>"), None))
    return [
        (first, second)
        for i, first in enumerate(roots)
        for second in roots[i + 1 :]
        if _under(first.subject, second.subject) or _under(second.subject, first.subject)
    ]


def check_subjects(zone: Zone) -> None:
    """Raise on the first overlap (see `subject_overlaps`); validation reports them all with positions."""
    for first, second in subject_overlaps(zone):
        raise NatsRenderError(
            f"zone {zone.name}: {first.what} {first.subject!r} and {second.what} {second.subject!r} overlap; "
            "their JetStream streams would capture the same messages"
        )


def active_tracks(assignment: ModelAssignment) -> tuple[Track, ...]:
    """Stable always; the canary version runs as the shadow track in the shadow phase, as canary when live."""
    if assignment.canary is None:
        return (Track.STABLE,)
    return (Track.STABLE, Track.SHADOW if assignment.canary.phase == "shadow" else Track.CANARY)


def route_weights(spec: FleetSpec, assignment: ModelAssignment) -> tuple[tuple[Route, int], ...]:
    """Integer percentages summing to exactly 100 (a remainder below 100 would be dropped by the server)."""
    canary = assignment.canary
    weights: tuple[tuple[Route, int], ...]
    if canary is None:
        weights = ((Route.STABLE_DIRECT, 100),)
    elif canary.phase == "live":
        weights = ((Route.STABLE_DIRECT, 100 - canary.weight), (Route.CANARY_LIVE, canary.weight))
    else:
        policy = spec.policy_for(assignment)
        shadow = policy.spec.shadow if policy is not None else None
        mirrored = 100 if shadow is None else round(shadow.mirror_percent)
        weights = ((Route.STABLE_DIRECT, 100 - mirrored), (Route.STABLE_MIRRORED, mirrored))
    return tuple((route, weight) for route, weight in weights if weight > 0)


def mappings(spec: FleetSpec, zone: Zone) -> Config:
    """Per input subject, its weighted routes; a partitioned assignment maps `I.<key>` with the key's partition in
    front of the key, so the weights pick a route and the key alone picks the partition."""
    rendered: Config = {}
    for assignment in sorted(zone.spec.models, key=lambda a: a.model):
        source = assignment.input if assignment.partitions is None else naming.keyed_input(assignment.input)
        rendered[source] = [
            {"destination": _destination(assignment, route), "weight": f"{weight}%"}
            for route, weight in route_weights(spec, assignment)
        ]
    return rendered


def _destination(assignment: ModelAssignment, route: Route) -> str:
    if assignment.partitions is None:
        return naming.route_subject(assignment.input, route)
    return naming.partition_destination(assignment.input, route, assignment.partitions)


def _runtime_permissions(zone: Zone) -> Config:
    publish: list[str] = ["$JS.API.INFO", "$JS.API.STREAM.NAMES"]
    for assignment in sorted(zone.spec.models, key=lambda a: a.model):
        stream = naming.input_stream(zone.name, assignment.model)
        publish += [
            f"$JS.API.STREAM.INFO.{stream}",
            f"$JS.API.CONSUMER.INFO.{stream}.*",
            f"$JS.API.CONSUMER.MSG.NEXT.{stream}.*",
            f"$JS.API.STREAM.MSG.GET.{stream}",  # replaying the unacked tail on start
            f"$JS.API.DIRECT.GET.{stream}",
            f"$JS.API.DIRECT.GET.{stream}.>",
            f"$JS.ACK.{stream}.>",
            *naming.result_stream_subjects(assignment.output),
        ]
    publish.append(naming.dead_letter_stream_subject(zone.name))
    if zone.spec.models:
        publish.append(naming.state_stream_subject(zone.name))
        # Ephemeral consumers, at start only: the changelog's last messages, and the ids of results and dead
        # letters published before a restart (exactly once beyond the result stream's duplicate window).
        for stream in (naming.state_stream(zone.name), naming.result_stream(zone.name),
                       naming.dead_letter_stream(zone.name)):  # fmt: skip
            publish += [
                f"$JS.API.CONSUMER.CREATE.{stream}",
                f"$JS.API.CONSUMER.CREATE.{stream}.>",
                f"$JS.API.CONSUMER.INFO.{stream}.*",
                f"$JS.API.CONSUMER.DELETE.{stream}.*",
                f"$JS.API.CONSUMER.MSG.NEXT.{stream}.*",
            ]
    return {"publish": {"allow": publish}, "subscribe": {"allow": ["_INBOX.>"]}}


def _sensor_permissions(zone: Zone) -> Config:
    # nats-server checks publish permissions after applying the account's mappings, so the routes an input
    # subject maps to must be allowed too; a sensor could thus pick its route, but reach nothing beyond its input.
    inputs = sorted(subject for a in zone.spec.models for subject in _sensor_subjects(a))
    # No input subject yet: allow nothing rather than an empty list (which nats-server reads as "no rule").
    return {"publish": {"allow": inputs or [NOTHING]}, "subscribe": {"allow": ["_INBOX.>"]}}


def _sensor_subjects(assignment: ModelAssignment) -> tuple[str, ...]:
    """Where a sensor of the assignment may publish: its input (`I`, or `I.<key>` when partitioned) and the
    routes that maps to. A partitioned input is not publishable bare: a record without its key would match no
    mapping and be lost, so the sensor hears a permissions violation instead."""
    if assignment.partitions is None:
        return (assignment.input, *(naming.route_subject(assignment.input, route) for route in Route))
    routed = (f"{naming.route_subject(assignment.input, route)}.*.*" for route in Route)  # <route>.<p>.<key>
    return (naming.keyed_input(assignment.input), *routed)


def _user(name: str, permissions: Config | None) -> Config:
    user: Config = {"user": name, "password": env_ref(naming.PASSWORD_ENV[name])}
    if permissions is not None:
        user["permissions"] = permissions
    return user


def leafnode_credentials_path(zone: Zone) -> str | None:
    """Where the server reads the leafnode credentials file, per the zone's secret reference."""
    ref = zone.spec.nats.leafnode.credentials
    if ref is None:
        return None
    if ref.file is not None:
        return ref.file
    if ref.secret is not None:
        return f"{LEAFNODE_CREDENTIALS_DIR}/{ref.secret.split('/', 1)[1]}"
    return env_ref(ref.env) if ref.env is not None else None


LEAFNODE_CREDENTIALS_DIR = "/etc/nats-leafnode"


def hub_url(spec: FleetSpec, zone: Zone) -> str:
    override = zone.spec.nats.leafnode.hub
    if override is not None:
        return override
    region = spec.region(zone.spec.region)
    if region is None:
        raise NatsRenderError(f"zone {zone.name}: region {zone.spec.region!r} is not defined in fleet.yaml")
    return region.nats_hub


def leafnodes_block(spec: FleetSpec, zone: Zone) -> Config:
    remote: Config = {"urls": [hub_url(spec, zone)], "account": naming.EDGE_ACCOUNT}
    credentials = leafnode_credentials_path(zone)
    if credentials is not None:
        remote["credentials"] = credentials
    return {"remotes": [remote]}


def accounts_block(spec: FleetSpec, zone: Zone) -> Config:
    return {
        naming.EDGE_ACCOUNT: {
            "jetstream": "enabled",
            "users": [
                _user(naming.SENSOR_USER, _sensor_permissions(zone)),
                _user(naming.RUNTIME_USER, _runtime_permissions(zone)),
                _user(naming.RECONCILER_USER, None),
            ],
            "mappings": mappings(spec, zone),
        },
    }


def server_config(spec: FleetSpec, zone: Zone, settings: ServerSettings | None = None) -> Config:
    """The zone server's full configuration (deterministic: the same spec gives an equal dict)."""
    check_subjects(zone)
    settings = settings or ServerSettings()
    return {
        "server_name": zone.name,
        "host": settings.host,
        "port": settings.port,
        "http_port": settings.monitor_port,
        "jetstream": {
            "domain": zone.spec.nats.domain,
            "store_dir": settings.store_dir,
            "max_file_store": settings.max_file_store,
            "max_memory_store": settings.max_memory_store,
        },
        "leafnodes": leafnodes_block(spec, zone),
        "accounts": accounts_block(spec, zone),
    }


def hub_users(region: str) -> list[Config]:
    """The hub's users, least privilege for nudges: a client without credentials (`no_auth_user`: the zones'
    leafnodes, JetStream management) may do everything but publish or hear a nudge; the nudger (PR bot, canary
    controller) may only publish nudges; the region's reconciler may only hear its own and the all-regions one."""
    nudges = list(naming.any_nudge_subjects())
    return [
        {
            "user": naming.HUB_ANONYMOUS_USER,
            "password": "",
            "permissions": {"publish": {"deny": nudges}, "subscribe": {"deny": nudges}},
        },
        {
            "user": naming.HUB_NUDGER_USER,
            "password": env_ref(naming.HUB_PASSWORD_ENV[naming.HUB_NUDGER_USER]),
            "permissions": {"publish": {"allow": nudges}, "subscribe": {"allow": [NOTHING]}},
        },
        {
            "user": naming.HUB_RECONCILER_USER,
            "password": env_ref(naming.HUB_PASSWORD_ENV[naming.HUB_RECONCILER_USER]),
            "permissions": {
                "publish": {"allow": [NOTHING]},
                "subscribe": {"allow": [*naming.nudge_subjects(region), "_INBOX.>"]},
            },
        },
    ]


def hub_server_config(region: str, settings: ServerSettings | None = None) -> Config:
    """A region hub: JetStream in its own domain, accepting the zones' leafnodes into the global account, with the
    users of `hub_users` (their passwords from the server's environment: `naming.HUB_PASSWORD_ENV`)."""
    settings = settings or ServerSettings(leafnode_port=7422)
    config: Config = {
        "server_name": naming.hub_domain(region),
        "host": settings.host,
        "port": settings.port,
        "http_port": settings.monitor_port,
        "jetstream": {
            "domain": naming.hub_domain(region),
            "store_dir": settings.store_dir,
            "max_file_store": settings.max_file_store,
            "max_memory_store": settings.max_memory_store,
        },
    }
    if settings.leafnode_port is not None:
        config["leafnodes"] = {"host": settings.host, "port": settings.leafnode_port}
    config["no_auth_user"] = naming.HUB_ANONYMOUS_USER
    config["authorization"] = {"users": hub_users(region)}
    return config
