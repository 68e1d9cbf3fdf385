"""The JetStream assets a zone (and its region hub) should have, as immutable values in JetStream API terms.

Per zone:
    input-<zone>-<model>   one per model: captures `<input>.>` (the mapped routes); interest retention, so a
                           message goes once every track's consumer has acked it; dedupe window for sensor
                           retries (`Nats-Msg-Id`); age and size limits so a stalled runtime cannot fill the disk
    <model>-<track>        durable pull consumers on it: stable always, shadow or canary while a canary runs;
                           with `partitions: P`, P per track instead: `<model>-<track>-p<p>`
    results-<zone>         every model's output subjects; limits retention, so the hub can source it after an outage
    dead-letter-<zone>     `edgeops.dlq.<zone>.>`
    state-<zone>           `edgeops.state.<zone>.>`: every runtime's windows, the last message per subject (a key's
                           window, a deployment's replay mark); no age limit, so a pod rescheduled onto an empty
                           disk restores them however long it was away (`runtime.changelog`)
Per region hub:
    results-<region>       sources each zone's `results-<zone>` through `$JS.<domain>.API` across the leafnode

`to_api()` gives the JetStream API JSON the server stores; `reconciler.core.plan.nats_diff` compares exactly those keys
with what the server reports.
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.core.nats import naming
from reconciler.core.nats.server import active_tracks, check_subjects
from reconciler.core.spec import FleetSpec, ModelAssignment, Zone
from runtime import DurableConsumerConfig, Track

NS_PER_S = 1_000_000_000
MANAGED_BY = "edgeops.io/managed-by"
MANAGER = "edgeops"
REVISION = "edgeops.io/revision"


@dataclass(frozen=True)
class StreamLimits:
    max_age_s: int
    max_bytes: int
    max_msgs: int = -1
    max_msg_size: int = -1
    duplicate_window_s: int = 120


INPUT_LIMITS = StreamLimits(max_age_s=24 * 3600, max_bytes=1 << 30, max_msg_size=8 << 20)
RESULT_LIMITS = StreamLimits(max_age_s=7 * 24 * 3600, max_bytes=1 << 30)
DEAD_LETTER_LIMITS = StreamLimits(max_age_s=7 * 24 * 3600, max_bytes=256 << 20, duplicate_window_s=120)
STATE_LIMITS = StreamLimits(max_age_s=0, max_bytes=512 << 20, max_msg_size=8 << 20)  # max_age 0: kept for good
HUB_LIMITS = StreamLimits(max_age_s=30 * 24 * 3600, max_bytes=10 << 30)


@dataclass(frozen=True)
class Source:
    """A stream sourced from another JetStream domain (`api` is that domain's API prefix)."""

    name: str
    api: str

    def to_api(self) -> dict[str, object]:
        return {"name": self.name, "external": {"api": self.api, "deliver": ""}}


@dataclass(frozen=True)
class StreamAsset:
    name: str
    description: str
    subjects: tuple[str, ...]
    retention: str  # limits | interest | workqueue
    limits: StreamLimits
    storage: str = "file"
    sources: tuple[Source, ...] = ()
    max_msgs_per_subject: int = -1

    def to_api(self) -> dict[str, object]:
        return {
            "name": self.name,
            "description": self.description,
            "subjects": list(self.subjects),
            "retention": self.retention,
            "storage": self.storage,
            "discard": "old",
            "max_age": self.limits.max_age_s * NS_PER_S,
            "max_bytes": self.limits.max_bytes,
            "max_msgs": self.limits.max_msgs,
            "max_msg_size": self.limits.max_msg_size,
            "max_msgs_per_subject": self.max_msgs_per_subject,
            "max_consumers": -1,
            "duplicate_window": self.limits.duplicate_window_s * NS_PER_S,
            "num_replicas": 1,
            "allow_direct": True,
            "deny_delete": False,
            "deny_purge": False,
            "sources": [s.to_api() for s in self.sources],
            "metadata": {MANAGED_BY: MANAGER},
        }


# The runtime's terms for its consumers: unlimited deliveries, since the runtime itself decides what is bad.
RUNTIME_CONSUMER = DurableConsumerConfig()


@dataclass(frozen=True)
class ConsumerAsset:
    stream: str
    durable: str
    description: str
    filter_subject: str
    ack_wait_s: int = RUNTIME_CONSUMER.ack_wait_s
    max_deliver: int = RUNTIME_CONSUMER.max_deliver
    max_ack_pending: int = RUNTIME_CONSUMER.max_ack_pending

    def to_api(self) -> dict[str, object]:
        return {
            "durable_name": self.durable,
            "description": self.description,
            "filter_subject": self.filter_subject,
            "deliver_policy": "all",
            "ack_policy": "explicit",
            "replay_policy": "instant",
            "ack_wait": self.ack_wait_s * NS_PER_S,
            "max_deliver": self.max_deliver,
            "max_ack_pending": self.max_ack_pending,
            "max_waiting": 512,
            "metadata": {MANAGED_BY: MANAGER},
        }


@dataclass(frozen=True)
class JetStreamAssets:
    """What one JetStream domain should hold; `domain` is the zone's domain or the region hub's."""

    domain: str
    streams: tuple[StreamAsset, ...] = ()
    consumers: tuple[ConsumerAsset, ...] = ()


def zone_assets(zone: Zone) -> JetStreamAssets:
    """Raises `NatsRenderError` when the zone's subjects would make streams overlap."""
    check_subjects(zone)
    streams: list[StreamAsset] = []
    consumers: list[ConsumerAsset] = []
    assignments = sorted(zone.spec.models, key=lambda a: a.model)
    for assignment in assignments:
        stream = naming.input_stream(zone.name, assignment.model)
        streams.append(
            StreamAsset(
                name=stream,
                description=f"{assignment.model} input in {zone.name}: routed copies of {assignment.input}",
                subjects=(f"{assignment.input}.>",),
                retention="interest",
                limits=INPUT_LIMITS,
            )
        )
        for track in active_tracks(assignment):
            consumers += _track_consumers(stream, assignment, track)
    if assignments:
        streams.append(
            StreamAsset(
                name=naming.result_stream(zone.name),
                description=f"inference results of {zone.name}, sourced by the region hub",
                subjects=tuple(s for a in assignments for s in naming.result_stream_subjects(a.output)),
                retention="limits",
                limits=RESULT_LIMITS,
            )
        )
        streams.append(
            StreamAsset(
                name=naming.state_stream(zone.name),
                description=f"the runtimes' windows in {zone.name}, restored when a pod starts on an empty disk",
                subjects=(naming.state_stream_subject(zone.name),),
                retention="limits",
                limits=STATE_LIMITS,
                max_msgs_per_subject=1,
            )
        )
    streams.append(
        StreamAsset(
            name=naming.dead_letter_stream(zone.name),
            description=f"malformed input of {zone.name}, with the reason in a header",
            subjects=(naming.dead_letter_stream_subject(zone.name),),
            retention="limits",
            limits=DEAD_LETTER_LIMITS,
        )
    )
    return JetStreamAssets(domain=zone.spec.nats.domain, streams=tuple(streams), consumers=tuple(consumers))


def _track_consumers(stream: str, assignment: ModelAssignment, track: Track) -> list[ConsumerAsset]:
    """The track's one consumer, or one per partition (`naming.partition_filter`): disjoint, and together all."""
    model, subject = assignment.model, assignment.input
    if assignment.partitions is None:
        return [
            ConsumerAsset(
                stream=stream,
                durable=naming.durable(model, track),
                description=f"{model} {track.value} runtime",
                filter_subject=naming.track_filter(subject, track),
            )
        ]
    count = assignment.partitions
    return [
        ConsumerAsset(
            stream=stream,
            durable=naming.partition_durable(model, track, p),
            description=f"{model} {track.value} runtime, partition {p} of {count}",
            filter_subject=naming.partition_filter(subject, track, p),
        )
        for p in range(count)
    ]


def hub_assets(spec: FleetSpec, region: str) -> JetStreamAssets:
    """The hub's region stream, sourcing every zone of the region that produces results."""
    sources = tuple(
        Source(name=naming.result_stream(zone.name), api=naming.js_api_prefix(zone.spec.nats.domain))
        for zone in sorted(spec.zones_in(region), key=lambda z: z.name)
        if zone.spec.models
    )
    stream = StreamAsset(
        name=naming.hub_stream(region),
        description=f"inference results of every zone in {region}",
        subjects=(),
        retention="limits",
        limits=HUB_LIMITS,
        sources=sources,
    )
    return JetStreamAssets(domain=naming.hub_domain(region), streams=(stream,))
