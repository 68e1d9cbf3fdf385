"""Every NATS name the fleet uses, in one place: streams, durable consumers and subjects per zone, model and track.

Both sides of the contract read this module: the JetStream assets and server config rendered for a zone
(`reconciler.core.nats.assets`, `reconciler.core.nats.server`) and the runtime config rendered for each
deployment (`RuntimeConfig.models[].subjects`). Changing a name here moves both at once.

Subject layout for a model assignment with input subject `I` and output subject `O` in zone `z`:

    I                         sensors publish here (the only subject they may publish to)
    I.stable.direct           \\  the zone's subject mapping rewrites I to one of these, by weight:
    I.stable.mirrored          >  stable traffic, stable traffic that the shadow runtime also reads,
    I.canary.live             /   and live canary traffic
    O                         results of the stable and the live canary runtime (what downstream reads)
    O.shadow.<track>          results that never reach production (shadow phase, synthetic load)
    edgeops.dlq.z.<model>.<track>   malformed input, with the reason in a header
    edgeops.state.z.<model>.<track>.{k.<key>,mark}   the runtime's windows (the changelog, last message per subject)

The input stream captures `I.>` (never `I` itself: the mapping always rewrites it first), so one stream holds all
routed traffic and each track's durable pull consumer filters its share: stable `I.stable.>`, canary
`I.canary.>`, shadow `I.stable.mirrored`. Mirroring therefore costs no second copy of a message.

An assignment with `partitions: P` is scaled out by key. Sensors publish `I.<key>` (the window key's value as the
last token), and the mapping puts the key's partition (a hash of the key token, 0..P-1) in front of the key:

    I.<key>                   sensors publish here
    I.<route>.<p>.<key>       the routes above, per partition p
    <model>-<track>-p<p>      one durable consumer per track and partition: stable `I.stable.*.<p>.*`,
                              canary `I.canary.live.<p>.*`, shadow `I.stable.mirrored.<p>.*`

so every record of a key reaches the one consumer of its partition, whichever route its weight picked.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from runtime import Track


class Route(StrEnum):
    """The destinations of an input subject's weighted mapping."""

    STABLE_DIRECT = "stable.direct"
    STABLE_MIRRORED = "stable.mirrored"
    CANARY_LIVE = "canary.live"


# The account every zone-local client and the leafnode live in; the hub's leafnode user lands in its own account.
EDGE_ACCOUNT = "EDGE"
HUB_ACCOUNT = "REGION"

# Users of the zone's server; their passwords come from these environment variables of the server process.
SENSOR_USER = "sensor"
RUNTIME_USER = "runtime"
RECONCILER_USER = "reconciler"
PASSWORD_ENV = {
    SENSOR_USER: "EDGEOPS_NATS_SENSOR_PASSWORD",
    RUNTIME_USER: "EDGEOPS_NATS_RUNTIME_PASSWORD",
    RECONCILER_USER: "EDGEOPS_NATS_RECONCILER_PASSWORD",
}


def route_subject(input_subject: str, route: Route) -> str:
    return f"{input_subject}.{route.value}"


def input_stream(zone: str, model: str) -> str:
    return f"input-{zone}-{model}"


def result_stream(zone: str) -> str:
    return f"results-{zone}"


def dead_letter_stream(zone: str) -> str:
    return f"dead-letter-{zone}"


def hub_stream(region: str) -> str:
    """The region hub's stream that sources every zone's result stream."""
    return f"results-{region}"


def hub_domain(region: str) -> str:
    return f"hub-{region}"


def js_api_prefix(domain: str) -> str:
    """The JetStream API of a domain as seen across a leafnode link."""
    return f"$JS.{domain}.API"


def durable(model: str, track: Track) -> str:
    return f"{model}-{track.value}"


def partition_durable(model: str, track: Track, partition: int) -> str:
    """The consumer of one partition (the runtime binds `<durable>-p<p>`: `runtime.service.units`)."""
    return f"{durable(model, track)}-p{partition}"


def consumer_track(zone: str, stream: str, name: str) -> tuple[str, Track] | None:
    """The model and track a zone's input consumer serves (`durable` or `partition_durable` on the model's
    `input_stream`); None for any other consumer."""
    prefix = input_stream(zone, "")
    if not stream.startswith(prefix):
        return None
    model = stream.removeprefix(prefix)
    for track in Track:
        base = durable(model, track)
        rest = name.removeprefix(base)
        if rest != name and (rest == "" or (rest.startswith("-p") and rest[2:].isdigit())):
            return model, track
    return None


def keyed_input(input_subject: str) -> str:
    """What sensors publish to for a partitioned assignment: the input subject and the key as its last token."""
    return f"{input_subject}.*"


def sensor_subject(input_subject: str, key: str, *, partitioned: bool) -> str:
    """Where a sensor publishes a record whose window key is `key`: `I`, or `I.<key>` for a partitioned assignment
    (the key must then be one subject token: no `.`, `*`, `>` or whitespace)."""
    return f"{input_subject}.{key}" if partitioned else input_subject


def partition_destination(input_subject: str, route: Route, partitions: int) -> str:
    """A mapping destination of `keyed_input`: the route, the key's partition, then the key."""
    return f"{route_subject(input_subject, route)}.{{{{partition({partitions},1)}}}}.{{{{wildcard(1)}}}}"


def partition_filter(input_subject: str, track: Track, partition: int | str) -> str:
    """The share of the input stream one partition's consumer reads (`"*"`: every partition's, the union)."""
    if track is Track.STABLE:
        return f"{input_subject}.stable.*.{partition}.*"
    route = Route.CANARY_LIVE if track is Track.CANARY else Route.STABLE_MIRRORED
    return f"{route_subject(input_subject, route)}.{partition}.*"


def track_filter(input_subject: str, track: Track) -> str:
    """The share of the input stream a track's consumer reads."""
    if track is Track.STABLE:
        return f"{input_subject}.stable.>"
    if track is Track.CANARY:
        return f"{input_subject}.canary.>"
    return route_subject(input_subject, Route.STABLE_MIRRORED)


def shadow_subject(output_subject: str, track: Track) -> str:
    return f"{output_subject}.shadow.{track.value}"


def result_subject(output_subject: str, track: Track) -> str:
    """Stable and live canary results are production results; shadow results never are."""
    return shadow_subject(output_subject, track) if track is Track.SHADOW else output_subject


def result_stream_subjects(output_subject: str) -> tuple[str, str]:
    return (output_subject, f"{output_subject}.>")


def dead_letter_subject(zone: str, model: str, track: Track) -> str:
    return f"edgeops.dlq.{zone}.{model}.{track.value}"


def dead_letter_stream_subject(zone: str) -> str:
    return f"edgeops.dlq.{zone}.>"


def state_stream(zone: str) -> str:
    """The changelog of every runtime's windows in the zone (`runtime.changelog`): they survive the pod's disk."""
    return f"state-{zone}"


def state_subject(zone: str, model: str, track: Track) -> str:
    return f"edgeops.state.{zone}.{model}.{track.value}"


def state_stream_subject(zone: str) -> str:
    return f"edgeops.state.{zone}.>"


@dataclass(frozen=True)
class TrackNames:
    """What one runtime deployment (model + track) consumes and publishes; mirrors `runtime.SubjectsConfig`."""

    track: Track
    stream: str
    durable: str
    input: str
    result: str
    shadow: str
    dead_letter: str
    state_stream: str
    state: str


def track_names(
    zone: str, model: str, input_subject: str, output_subject: str, track: Track, *, partitioned: bool = False
) -> TrackNames:
    """A partitioned track's `input` is the union of its partitions' filters, `durable` the prefix of theirs."""
    return TrackNames(
        track=track,
        stream=input_stream(zone, model),
        durable=durable(model, track),
        input=partition_filter(input_subject, track, "*") if partitioned else track_filter(input_subject, track),
        result=result_subject(output_subject, track),
        shadow=shadow_subject(output_subject, track),
        dead_letter=dead_letter_subject(zone, model, track),
        state_stream=state_stream(zone),
        state=state_subject(zone, model, track),
    )


# Nudges: "fetch and reconcile now", to one region's loop or to every region's. The PR bot (on a push to the
# base branch) and the canary controller (after a merge) publish; each region's reconciler subscribes to both.
NUDGE_ALL_SUBJECT = "edgeops.reconciler.nudge"


def nudge_subject(region: str | None = None) -> str:
    """The subject nudging `region`'s loop, or every region's (None)."""
    return NUDGE_ALL_SUBJECT if region is None else f"edgeops.reconciler.{region}.nudge"


def nudge_subjects(region: str) -> tuple[str, str]:
    """What a region's reconciler listens on: its own subject and the one for all regions."""
    return (nudge_subject(region), NUDGE_ALL_SUBJECT)


def any_nudge_subjects() -> tuple[str, str]:
    """Every nudge subject, as subject patterns: any one region's and all regions'."""
    return (nudge_subject("*"), NUDGE_ALL_SUBJECT)


# Users of a region hub. A client without credentials (zone leafnodes, JetStream management) is HUB_ANONYMOUS_USER:
# everything but nudges. Only HUB_NUDGER_USER may publish a nudge, and only HUB_RECONCILER_USER hear one.
HUB_ANONYMOUS_USER = "anonymous"
HUB_RECONCILER_USER = "reconciler"
HUB_NUDGER_USER = "nudger"
HUB_PASSWORD_ENV = {
    HUB_RECONCILER_USER: "EDGEOPS_NATS_HUB_RECONCILER_PASSWORD",
    HUB_NUDGER_USER: "EDGEOPS_NATS_HUB_NUDGER_PASSWORD",
}
