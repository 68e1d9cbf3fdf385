"""Compare desired JetStream assets with what a server reports, and decide what applying them takes.

Only the keys we set are compared (`StreamAsset.to_api()`), so server-filled fields never show as drift, while a
hand edit of any managed setting does. `metadata` is compared on the ownership key only: the revision recorded
there moves with every commit and is written only together with a real change, so re-applying an unchanged zone
at a new revision writes nothing.

Ownership: an asset is ours when its metadata says `edgeops.io/managed-by: edgeops`. A stream with one of our names
but without that mark is foreign: reported, never touched. Only our own assets are pruned, and a stream that still
holds messages is deleted (pruned or recreated) only when the caller allows it.

Draining: a consumer the desired state no longer has but that still holds records (pending or unacknowledged) is
not deleted; its step is `Op.DRAIN` (nothing sent) until it holds nothing, so the track's runtime can score and
acknowledge the remainder. Once it has made no progress (no delivery or acknowledgement) for the drain timeout it
is deleted anyway, and its step says how many records were abandoned (`Op.DELETE` with `abandoned`).
"""

from __future__ import annotations

import difflib
import json
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from reconciler.core.nats import MANAGED_BY, MANAGER, ConsumerAsset, JetStreamAssets, StreamAsset
from reconciler.core.plan.changeset import Action, Change

SYSTEM = "nats"
# Settings a server refuses to change on an existing stream or consumer.
STREAM_FIXED = ("storage", "retention")
CONSUMER_FIXED = ("deliver_policy", "ack_policy", "replay_policy")
# What the server reports for a key it omits.
_DEFAULTS: dict[str, object] = {
    "description": "",
    "subjects": [],
    "sources": [],
    "deny_delete": False,
    "deny_purge": False,
    "allow_direct": False,
    "metadata": {},
}


class Op(StrEnum):
    NONE = "none"
    CREATE = "create"
    UPDATE = "update"
    RECREATE = "recreate"
    DELETE = "delete"
    BLOCKED = "blocked"  # would delete a stream holding messages without permission
    DRAIN = "drain"  # a retired consumer still holding records: kept until it holds nothing (nothing sent)


DEFAULT_DRAIN_TIMEOUT_S = 300.0
# How a prune that waits for a drain (`Op.DRAIN`) begins its detail: such a change deletes nothing yet.
DRAINING = "draining: "
DEFAULT_DRAIN_SETTLE_S = 10.0


@dataclass(frozen=True)
class LiveStream:
    config: Mapping[str, object]
    messages: int = 0


@dataclass(frozen=True)
class LiveConsumer:
    stream: str
    config: Mapping[str, object]
    pending: int = 0  # records it still holds: not yet delivered plus delivered but not acknowledged
    last_active: datetime | None = None  # its last delivery or acknowledgement (None: never)
    created: datetime | None = None


@dataclass(frozen=True)
class DrainPolicy:
    """When retired consumers are deleted: `now` (None: never time out, e.g. a plan shown without a clock), how
    long a track may hold records without progress before they are abandoned, and how long it must be quiet
    (nothing held, nothing delivered) before it goes."""

    now: datetime | None = None
    timeout_s: float = DEFAULT_DRAIN_TIMEOUT_S
    settle_s: float = DEFAULT_DRAIN_SETTLE_S


class Retire(StrEnum):
    DELETE = "delete"  # holds nothing
    DRAIN = "drain"  # holds records and is still making progress (or within the timeout)
    ABANDON = "abandon"  # holds records but made no progress for the drain timeout


def retire(track: Sequence[LiveConsumer], policy: DrainPolicy) -> Retire:
    """The fate of a retired track's consumers (one, or one per partition), decided together: the zone's
    mapping moves off the track asynchronously, so a consumer holding nothing now may still get records while a
    sibling drains. They go once none holds a record and none was active for `settle_s` (no clock: at once)."""
    held = sum(c.pending for c in track)
    active = [c.last_active for c in track if c.last_active is not None]
    if held <= 0:
        quiet = policy.now is None or not active or (policy.now - max(active)).total_seconds() >= policy.settle_s
        return Retire.DELETE if quiet else Retire.DRAIN
    progress = active + [c.created for c in track if c.created is not None]
    if policy.now is None or not progress:
        return Retire.DRAIN
    idle = (policy.now - max(progress)).total_seconds()
    return Retire.ABANDON if idle >= policy.timeout_s else Retire.DRAIN


@dataclass(frozen=True)
class LiveJetStream:
    streams: tuple[LiveStream, ...] = ()
    consumers: tuple[LiveConsumer, ...] = ()


@dataclass(frozen=True)
class Step:
    """One planned operation: `change` is what the plan shows, `op` what apply does, `config` what it sends."""

    change: Change
    op: Op
    kind: str  # Stream | Consumer
    stream: str
    durable: str = ""
    config: Mapping[str, object] = field(default_factory=dict)
    held: int = 0  # a retired consumer's records: still draining (`Op.DRAIN`) or abandoned (`Op.DELETE`)

    @property
    def abandoned(self) -> int:
        return self.held if self.op is Op.DELETE else 0


def _owned(config: Mapping[str, object]) -> bool:
    metadata = config.get("metadata")
    return isinstance(metadata, Mapping) and metadata.get(MANAGED_BY) == MANAGER


def _project_source(source: object) -> object:
    if not isinstance(source, Mapping):
        return source
    external = source.get("external")
    projected: dict[str, object] = {"name": source.get("name")}
    if isinstance(external, Mapping):
        projected["external"] = {"api": external.get("api", ""), "deliver": external.get("deliver", "") or ""}
    return projected


def comparable(desired: Mapping[str, object], live: Mapping[str, object]) -> dict[str, object]:
    """`live` cut down to the keys of `desired`, with omitted keys at their server defaults."""
    projected: dict[str, object] = {}
    for key in desired:
        value = live.get(key, _DEFAULTS.get(key))
        if key == "sources" and isinstance(value, list):
            value = [_project_source(s) for s in value]
        elif key == "metadata":
            value = {MANAGED_BY: value.get(MANAGED_BY)} if isinstance(value, Mapping) else {}
        elif value is None and key in _DEFAULTS:
            value = _DEFAULTS[key]
        projected[key] = value
    return projected


def unified_diff(name: str, old: Mapping[str, object] | None, new: Mapping[str, object] | None) -> str:
    def lines(value: Mapping[str, object] | None) -> list[str]:
        return [] if value is None else json.dumps(value, indent=2, sort_keys=True).splitlines(keepends=True)

    return "".join(difflib.unified_diff(lines(old), lines(new), f"live/{name}", f"desired/{name}"))


def _changed_fixed(fixed: tuple[str, ...], old: Mapping[str, object], new: Mapping[str, object]) -> list[str]:
    return [f"{k}: {old.get(k)} -> {new.get(k)}" for k in fixed if k in new and old.get(k) != new.get(k)]


def _plan_stream(domain: str, asset: StreamAsset, live: LiveStream | None, allow_delete: bool) -> Step:
    desired = asset.to_api()
    if live is None:
        change = Change(Action.CREATE, "Stream", domain, asset.name, unified_diff(asset.name, None, desired), SYSTEM)
        return Step(change, Op.CREATE, "Stream", asset.name, config=desired)
    if not _owned(live.config):
        change = Change(Action.SKIP_FOREIGN, "Stream", domain, asset.name, "", SYSTEM, "not managed by edgeops")
        return Step(change, Op.NONE, "Stream", asset.name)
    current = comparable(desired, live.config)
    if current == desired:
        return Step(
            Change(Action.UNCHANGED, "Stream", domain, asset.name, system=SYSTEM), Op.NONE, "Stream", asset.name
        )
    diff = unified_diff(asset.name, current, desired)
    fixed = _changed_fixed(STREAM_FIXED, current, desired)
    if not fixed:
        return Step(
            Change(Action.CONFIGURE, "Stream", domain, asset.name, diff, SYSTEM),
            Op.UPDATE,
            "Stream",
            asset.name,
            config=desired,
        )
    detail = "needs recreation (" + "; ".join(fixed) + ")"
    op = Op.RECREATE
    if live.messages and not allow_delete:
        detail += f"; blocked: holds {live.messages} messages (allow stream deletion to recreate it)"
        op = Op.BLOCKED
    change = Change(Action.CONFIGURE, "Stream", domain, asset.name, diff, SYSTEM, detail)
    return Step(change, op, "Stream", asset.name, config=desired)


def _plan_consumer(domain: str, asset: ConsumerAsset, live: LiveConsumer | None) -> Step:
    desired = asset.to_api()
    name = f"{asset.stream}/{asset.durable}"
    if live is None:
        change = Change(Action.CREATE, "Consumer", domain, name, unified_diff(name, None, desired), SYSTEM)
        return Step(change, Op.CREATE, "Consumer", asset.stream, asset.durable, desired)
    current = comparable(desired, live.config)
    if current == desired:
        change = Change(Action.UNCHANGED, "Consumer", domain, name, system=SYSTEM)
        return Step(change, Op.NONE, "Consumer", asset.stream, asset.durable)
    diff = unified_diff(name, current, desired)
    fixed = _changed_fixed(CONSUMER_FIXED, current, desired)
    detail = "needs recreation (" + "; ".join(fixed) + ")" if fixed else ""
    change = Change(Action.CONFIGURE, "Consumer", domain, name, diff, SYSTEM, detail)
    return Step(change, Op.RECREATE if fixed else Op.UPDATE, "Consumer", asset.stream, asset.durable, desired)


def _retire_consumer(domain: str, stream: str, durable: str, consumer: LiveConsumer, fate: Retire) -> Step:
    name = f"{stream}/{durable}"
    detail = ""
    if fate is Retire.DRAIN:
        detail = f"{DRAINING}holds {consumer.pending} records (deleted once its track's are acknowledged)"
    elif fate is Retire.ABANDON:
        detail = f"abandoned {consumer.pending} records: no delivery or acknowledgement for the drain timeout"
    change = Change(
        Action.PRUNE, "Consumer", domain, name, unified_diff(name, dict(consumer.config), None), SYSTEM, detail
    )
    op = Op.DRAIN if fate is Retire.DRAIN else Op.DELETE
    return Step(change, op, "Consumer", stream, durable, held=0 if fate is Retire.DELETE else consumer.pending)


def _track_of(stream: str, durable: str) -> tuple[str, str]:
    """A partition's consumer belongs with its siblings (`<model>-<track>-p<p>`)."""
    return stream, re.sub(r"-p[0-9]+$", "", durable)


def plan_jetstream(
    desired: JetStreamAssets,
    live: LiveJetStream,
    *,
    allow_stream_delete: bool = False,
    drain: DrainPolicy | None = None,
) -> tuple[Step, ...]:
    """Streams before their consumers; prunes (consumers, then streams) last. Retired consumers holding records
    drain first (`drain`; default: no clock, so they never time out)."""
    policy = drain or DrainPolicy()
    domain = desired.domain
    live_streams = {str(s.config.get("name")): s for s in live.streams}
    live_consumers = {(c.stream, str(c.config.get("durable_name"))): c for c in live.consumers}
    steps = [_plan_stream(domain, a, live_streams.get(a.name), allow_stream_delete) for a in desired.streams]
    foreign = {s.stream for s in steps if s.change.action is Action.SKIP_FOREIGN}
    steps += [
        _plan_consumer(domain, c, live_consumers.get((c.stream, c.durable)))
        for c in desired.consumers
        if c.stream not in foreign
    ]
    wanted_streams = {a.name for a in desired.streams}
    wanted_consumers = {(c.stream, c.durable) for c in desired.consumers}
    retired = {
        key: c
        for key, c in sorted(live_consumers.items())
        if key not in wanted_consumers and _owned(c.config) and key[0] not in foreign
    }
    tracks: dict[tuple[str, str], list[LiveConsumer]] = defaultdict(list)
    for (stream, durable), consumer in retired.items():
        tracks[_track_of(stream, durable)].append(consumer)
    fates = {track: retire(consumers, policy) for track, consumers in tracks.items()}
    for (stream, durable), consumer in retired.items():
        steps.append(_retire_consumer(domain, stream, durable, consumer, fates[_track_of(stream, durable)]))
    for name, stream_live in sorted(live_streams.items()):
        if name in wanted_streams or not _owned(stream_live.config):
            continue
        if any(fate is Retire.DRAIN and stream == name for (stream, _), fate in fates.items()):
            detail = f"{DRAINING}waits until its consumers have drained"  # deleting it now would drop their records
            steps.append(
                Step(Change(Action.PRUNE, "Stream", domain, name, "", SYSTEM, detail), Op.DRAIN, "Stream", name)
            )
        elif stream_live.messages and not allow_stream_delete:
            detail = f"blocked: holds {stream_live.messages} messages (allow stream deletion to delete it)"
            steps.append(
                Step(Change(Action.PRUNE, "Stream", domain, name, "", SYSTEM, detail), Op.BLOCKED, "Stream", name)
            )
        else:
            steps.append(Step(Change(Action.PRUNE, "Stream", domain, name, "", SYSTEM), Op.DELETE, "Stream", name))
    return tuple(steps)
