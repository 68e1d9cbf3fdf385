"""Draining retired consumers (pure): `retire`, the drain steps of `plan_jetstream`, `consumer_track`, the
status a draining zone reports (`merge_zone_result`) and `held_track`.

Rules, with generated inputs: a retired track's consumers (one, or one per partition, decided together) are
deleted when none holds a record and none was active for the settle time, kept (`Op.DRAIN`, nothing sent) while
they hold records and made progress within the drain timeout, and deleted with their records abandoned (the step
says how many) once they made none for the timeout; without a clock they never time out. Desired consumers are planned the same whatever they hold. A draining zone is Progressing and
says `draining canary <model>: N records`; abandoned records are named.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.app.desired import load_desired
from reconciler.core.nats import consumer_track
from reconciler.core.nats.assets import MANAGED_BY, MANAGER, zone_assets
from reconciler.core.nats.naming import durable, input_stream, partition_durable
from reconciler.core.plan import (
    Action,
    ChangeSet,
    DrainPolicy,
    LiveConsumer,
    LiveJetStream,
    LiveStream,
    NatsStatus,
    NatsZoneResult,
    Op,
    Retire,
    RetiredConsumer,
    ZonePlan,
    ZoneResult,
    ZoneStatus,
    merge_zone_result,
    plan_jetstream,
    retire,
)
from reconciler.core.render import EVERY_TRACK, MODEL, TRACK, held_track
from runtime import Track

pytestmark = pytest.mark.unit

SPEC = load_desired(Path(__file__).resolve().parents[3]).spec
assert SPEC is not None
ZONE = SPEC.zone("ams-01")
assert ZONE is not None
DESIRED = zone_assets(ZONE)
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
TIMEOUT = 300.0

pending = st.integers(min_value=1, max_value=10**9)
# Whole milliseconds: timestamps hold microseconds, so an idle time a hair below the timeout stays below it.
idle_s = st.integers(min_value=0, max_value=10 * int(TIMEOUT) * 1000).map(lambda ms: ms / 1000)
models = st.from_regex(r"[a-z]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)


def consumer(held: int, idle: float | None, name: str = "fraud-scoring-canary") -> LiveConsumer:
    config: dict[str, Any] = {"durable_name": name, "metadata": {MANAGED_BY: MANAGER}}
    last = None if idle is None else NOW - timedelta(seconds=idle)
    return LiveConsumer(input_stream("ams-01", "fraud-scoring"), config, held, last)


def live_with(*extra: LiveConsumer, desired_held: int = 0) -> LiveJetStream:
    streams = tuple(LiveStream({**s.to_api(), "metadata": {MANAGED_BY: MANAGER}}) for s in DESIRED.streams)
    wanted = tuple(
        LiveConsumer(c.stream, {**c.to_api(), "metadata": {MANAGED_BY: MANAGER}}, desired_held, NOW)
        for c in DESIRED.consumers
    )
    return LiveJetStream(streams, wanted + extra)


SETTLE = 10.0


@given(idle=idle_s)
def test_a_retired_consumer_holding_nothing_goes_once_quiet_for_the_settle_time(idle: float) -> None:
    fate = retire([consumer(0, idle)], DrainPolicy(NOW, TIMEOUT, SETTLE))
    assert fate is (Retire.DELETE if idle >= SETTLE else Retire.DRAIN)


@given(idle=st.one_of(st.none(), idle_s))
def test_without_a_clock_a_retired_consumer_holding_nothing_goes_at_once(idle: float | None) -> None:
    assert retire([consumer(0, idle)], DrainPolicy(None, TIMEOUT)) is Retire.DELETE


@given(held=pending, idle=st.floats(min_value=0, max_value=TIMEOUT - 0.001, allow_nan=False))  # timestamps: µs
def test_records_keep_a_retired_consumer_before_the_timeout(held: int, idle: float) -> None:
    assert retire([consumer(held, idle)], DrainPolicy(NOW, TIMEOUT)) is Retire.DRAIN


@given(held=pending, idle=st.floats(min_value=TIMEOUT, max_value=10**6, allow_nan=False))
def test_records_without_progress_for_the_timeout_are_abandoned(held: int, idle: float) -> None:
    assert retire([consumer(held, idle)], DrainPolicy(NOW, TIMEOUT)) is Retire.ABANDON


@given(held=pending, idle=st.one_of(st.none(), idle_s))
def test_without_a_clock_records_are_never_abandoned(held: int, idle: float | None) -> None:
    assert retire([consumer(held, idle)], DrainPolicy(None, TIMEOUT)) is Retire.DRAIN


@given(
    parts=st.lists(st.tuples(st.integers(0, 1000), idle_s), min_size=2, max_size=12),
    now_known=st.booleans(),
)
def test_a_partitioned_track_retires_as_one(parts: list[tuple[int, float]], now_known: bool) -> None:
    """Every partition's consumer gets the track's fate: none goes while a sibling still drains (the mapping may
    still route records to any of them)."""
    stream = input_stream("ams-01", "old-model")  # a model the zone no longer serves: all of its consumers retire
    live = [
        dataclasses.replace(consumer(held, idle, f"old-model-canary-p{p}"), stream=stream)
        for p, (held, idle) in enumerate(parts)
    ]
    policy = DrainPolicy(NOW if now_known else None, TIMEOUT, SETTLE)
    steps = [s for s in plan_jetstream(DESIRED, live_with(*live), drain=policy) if s.change.action is Action.PRUNE]
    assert len(steps) == len(parts)
    assert len({s.op for s in steps}) == 1
    fate = retire(live, policy)
    assert steps[0].op is (Op.DRAIN if fate is Retire.DRAIN else Op.DELETE)
    if any(held for held, _ in parts) and (not now_known or min(idle for _, idle in parts) < TIMEOUT):
        assert fate is Retire.DRAIN


@given(held=st.integers(min_value=0, max_value=10**6), idle=idle_s, desired_held=st.integers(0, 10**6))
def test_plan_drains_abandons_or_deletes_and_leaves_desired_consumers_alone(
    held: int, idle: float, desired_held: int
) -> None:
    policy = DrainPolicy(NOW, TIMEOUT, SETTLE)
    baseline = plan_jetstream(DESIRED, live_with(), drain=policy)
    steps = plan_jetstream(DESIRED, live_with(consumer(held, idle), desired_held=desired_held), drain=policy)
    assert steps[:-1] == baseline  # every desired stream and consumer planned as if nothing were retired
    (retired,) = steps[len(baseline) :]
    assert retired.change.action is Action.PRUNE
    assert retired.durable == "fraud-scoring-canary"
    if held == 0 and idle >= SETTLE:
        assert (retired.op, retired.held, retired.abandoned, retired.change.detail) == (Op.DELETE, 0, 0, "")
    elif idle < TIMEOUT:
        assert (retired.op, retired.held, retired.abandoned) == (Op.DRAIN, held, 0)
        assert f"draining: holds {held} records" in retired.change.detail
    else:
        assert (retired.op, retired.abandoned) == (Op.DELETE, held)
        assert f"abandoned {held} records" in retired.change.detail


def test_plan_without_a_policy_never_deletes_a_consumer_holding_records() -> None:
    (retired,) = [s for s in plan_jetstream(DESIRED, live_with(consumer(5, 10**6))) if s.change.action is Action.PRUNE]
    assert retired.op is Op.DRAIN


@given(model=models, track=st.sampled_from(Track), partition=st.one_of(st.none(), st.integers(0, 63)))
def test_consumer_track_names_the_model_and_track_of_an_input_consumer(
    model: str, track: Track, partition: int | None
) -> None:
    name = durable(model, track) if partition is None else partition_durable(model, track, partition)
    assert consumer_track("ams-01", input_stream("ams-01", model), name) == (model, track)


@pytest.mark.parametrize(
    ("stream", "name"),
    [
        ("results-ams-01", "fraud-scoring-canary"),  # not an input stream
        ("input-ams-01-fraud-scoring", "other-canary"),  # another model's name
        ("input-ams-01-fraud-scoring", "fraud-scoring-canary-px"),
        ("input-ams-01-fraud-scoring", "fraud-scoring-blue"),
        ("input-ams-02-fraud-scoring", "fraud-scoring-canary"),  # another zone's stream
    ],
)
def test_consumer_track_is_none_for_other_consumers(stream: str, name: str) -> None:
    assert consumer_track("ams-01", stream, name) is None


def kube(status: ZoneStatus) -> ZoneResult:
    return ZoneResult("ams-01", status, "abc", ZonePlan("ams-01", "abc"))


def nats(draining: int = 0, abandoned: int = 0) -> NatsZoneResult:
    stream = input_stream("ams-01", "fraud-scoring")
    parts = tuple(RetiredConsumer(stream, f"fraud-scoring-canary-p{p}", draining) for p in range(2) if draining)
    gone = (RetiredConsumer(stream, "fraud-scoring-canary-p0", abandoned),) if abandoned else ()
    return NatsZoneResult("ams-01", NatsStatus.READY, ChangeSet(), draining=parts, abandoned=gone)


def test_a_draining_zone_is_progressing_and_says_what_it_drains() -> None:
    merged = merge_zone_result(kube(ZoneStatus.SYNCED), nats(draining=6))
    assert merged.status is ZoneStatus.PROGRESSING
    assert merged.message == "draining canary fraud-scoring: 12 records"  # both partitions summed


def test_a_draining_zone_keeps_a_worse_status() -> None:
    merged = merge_zone_result(kube(ZoneStatus.DEGRADED), nats(draining=1))
    assert merged.status is ZoneStatus.DEGRADED
    assert "draining canary fraud-scoring: 2 records" in merged.message


def test_abandoned_records_are_named_in_the_result() -> None:
    merged = merge_zone_result(kube(ZoneStatus.SYNCED), nats(abandoned=7))
    assert merged.status is ZoneStatus.SYNCED
    assert "abandoned 7 records of canary fraud-scoring" in merged.message
    assert "drain timeout" in merged.message


@pytest.mark.parametrize(
    ("labels", "held"),
    [
        ({MODEL: "fraud-scoring", TRACK: "canary"}, True),
        ({MODEL: "fraud-scoring", TRACK: "stable"}, False),
        ({MODEL: "sensor-anomaly", TRACK: "canary"}, False),
        ({MODEL: "", TRACK: "canary"}, False),  # zone-wide objects are never a track's
        ({MODEL: "fraud-scoring"}, False),
        (None, False),
    ],
)
def test_held_track_selects_the_objects_of_a_draining_track(labels: dict[str, str] | None, held: bool) -> None:
    assert held_track(labels, frozenset({("fraud-scoring", "canary")})) is held


@given(
    model=st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True), track=st.sampled_from(["stable", "canary", "shadow"])
)
def test_every_track_holds_any_track_object_and_never_a_zone_wide_one(model: str, track: str) -> None:
    """NATS unread: every object of some model's track is held, whatever its name; zone-wide objects never are."""
    assert held_track({MODEL: model, TRACK: track}, EVERY_TRACK)
    assert not held_track({MODEL: "", TRACK: track}, EVERY_TRACK)
    assert not held_track({MODEL: model}, EVERY_TRACK)
    assert not held_track({MODEL: "*", TRACK: "*"}, frozenset({("fraud-scoring", "canary")}))


@given(held=st.integers(0, 1000), age=idle_s)
def test_a_consumer_never_delivered_to_counts_from_its_creation(held: int, age: float) -> None:
    """No delivery yet: nothing to settle when it holds nothing; records it holds time out from its creation."""
    never = dataclasses.replace(consumer(held, None), created=NOW - timedelta(seconds=age))
    fate = retire([never], DrainPolicy(NOW, TIMEOUT, SETTLE))
    if held == 0:
        assert fate is Retire.DELETE
    else:
        assert fate is (Retire.ABANDON if age >= TIMEOUT else Retire.DRAIN)


@pytest.mark.parametrize("allow_stream_delete", [False, True])
def test_a_retired_stream_waits_for_its_draining_consumers(allow_stream_delete: bool) -> None:
    stream = input_stream("ams-01", "old-model")
    live = live_with(dataclasses.replace(consumer(3, 1.0, "old-model-stable"), stream=stream))
    owned = LiveStream({"name": stream, "metadata": {MANAGED_BY: MANAGER}}, messages=3)
    live = dataclasses.replace(live, streams=(*live.streams, owned))
    steps = plan_jetstream(DESIRED, live, allow_stream_delete=allow_stream_delete, drain=DrainPolicy(NOW, TIMEOUT))
    (pruned_stream,) = [s for s in steps if s.kind == "Stream" and s.change.action is Action.PRUNE]
    assert pruned_stream.op is Op.DRAIN
    assert "drained" in pruned_stream.change.detail
