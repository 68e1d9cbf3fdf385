"""JetStream assets against real nats-servers (a hub and two leaf zones on loopback).

Matrix: first apply creates every asset | a second apply writes nothing | the server reports what we configured |
an edit of the desired state is applied | a hand-edited stream and a hand-deleted consumer are corrected |
a stream holding messages is not deleted without permission | the zone's assets are reachable through the hub's
leafnode by JetStream domain | overlapping subjects: Degraded, nothing written.
"""

from __future__ import annotations

import pytest

from reconciler.app.nats import NatsStatus, apply_nats, plan_nats
from reconciler.core.nats.assets import NS_PER_S, zone_assets
from reconciler.core.plan import Action, Op, plan_jetstream
from reconciler.shells.nats import JetStreamAdmin
from tests.fixtures.nats_fleet import NatsFleet

pytestmark = pytest.mark.integration

TRACKS = ("stable", "canary")


async def test_first_apply_creates_then_nothing_changes(nats_fleet: NatsFleet) -> None:
    zone = nats_fleet.zone("ams-01")
    first = await apply_nats(nats_fleet.spec, zone, nats_fleet.endpoint("ams-01"), revision="rev1")
    assert first.status is NatsStatus.READY, first.error
    created = {c.ref for c in first.changes.with_action(Action.CREATE)}
    assert created == {
        "Stream/ams-01/input-ams-01-fraud-scoring",
        "Stream/ams-01/results-ams-01",
        "Stream/ams-01/dead-letter-ams-01",
        "Stream/ams-01/state-ams-01",
        # partitions: 12 -> one consumer per partition and track
        *(f"Consumer/ams-01/input-ams-01-fraud-scoring/fraud-scoring-{t}-p{p}" for t in TRACKS for p in range(12)),
    }
    second = await apply_nats(nats_fleet.spec, zone, nats_fleet.endpoint("ams-01"), revision="rev2")
    assert second.status is NatsStatus.READY, second.error
    assert not second.changes.pending, second.changes.summary()
    assert len(second.changes.with_action(Action.UNCHANGED)) == len(created)

    # What the server reports is what we configured, key by key.
    async with await JetStreamAdmin.connect(nats_fleet.endpoint("ams-01")) as admin:
        live = await admin.stream_config("input-ams-01-fraud-scoring")
        live_all = await admin.read()
    assert live["subjects"] == ["payments.ams-01.tx.>"]
    assert live["retention"] == "interest"
    assert live["duplicate_window"] == 120 * NS_PER_S
    assert live["metadata"]["edgeops.io/revision"] == "rev1"  # unchanged assets are not rewritten
    consumers = {c.config["durable_name"]: c.config for c in live_all.consumers}
    assert consumers["fraud-scoring-canary-p3"]["filter_subject"] == "payments.ams-01.tx.canary.live.3.*"
    assert all(s.op is Op.NONE for s in plan_jetstream(zone_assets(zone), live_all))


async def test_edit_and_hand_edits_are_corrected(nats_fleet: NatsFleet) -> None:
    spec, zone = nats_fleet.spec, nats_fleet.zone("ams-01")
    endpoint = nats_fleet.endpoint("ams-01")
    await apply_nats(spec, zone, endpoint, revision="rev1")

    # Desired-state edit: the canary goes back to the shadow phase -> shadow consumer replaces the canary one.
    assignment = zone.spec.models[0]
    assert assignment.canary is not None
    shadow = assignment.canary.model_copy(update={"phase": "shadow", "weight": 0})
    edited = zone.model_copy(
        update={"spec": zone.spec.model_copy(update={"models": (assignment.model_copy(update={"canary": shadow}),)})}
    )
    result = await apply_nats(spec, edited, endpoint, revision="rev2")
    assert result.status is NatsStatus.READY, result.error
    assert {c.ref for c in result.changes.with_action(Action.CREATE)} == {
        f"Consumer/ams-01/input-ams-01-fraud-scoring/fraud-scoring-shadow-p{p}" for p in range(12)
    }
    assert {c.ref for c in result.changes.with_action(Action.PRUNE)} == {
        f"Consumer/ams-01/input-ams-01-fraud-scoring/fraud-scoring-canary-p{p}" for p in range(12)
    }

    # Hand edits with nats-py directly: a stream limit changed, a consumer deleted.
    import nats

    nc = await nats.connect(endpoint.url, user=endpoint.user, password=endpoint.password)
    try:
        jsm = nc.jsm()
        info = await jsm.stream_info("results-ams-01")
        info.config.max_age = 3600.0
        info.config.description = "edited by hand"
        await jsm.update_stream(info.config)
        await jsm.delete_consumer("input-ams-01-fraud-scoring", "fraud-scoring-stable-p0")
    finally:
        await nc.close()
    drift = await plan_nats(spec, edited, endpoint)
    configure = drift.changes.with_action(Action.CONFIGURE)
    assert [c.ref for c in configure] == ["Stream/ams-01/results-ams-01"]
    assert '"max_age": 3600000000000' in configure[0].diff
    assert "edited by hand" in configure[0].diff
    fixed = await apply_nats(spec, edited, endpoint, revision="rev3")
    assert fixed.changes.pending
    again = await apply_nats(spec, edited, endpoint, revision="rev3")
    assert not again.changes.pending, [c.ref for c in again.changes if c.action.writes]
    async with await JetStreamAdmin.connect(endpoint) as admin:
        assert (await admin.stream_config("results-ams-01"))["max_age"] == 7 * 24 * 3600 * NS_PER_S


async def test_stream_with_messages_is_kept_without_permission(nats_fleet: NatsFleet) -> None:
    spec, zone = nats_fleet.spec, nats_fleet.zone("fra-02")
    endpoint = nats_fleet.endpoint("fra-02")
    await apply_nats(spec, zone, endpoint, revision="rev1")
    import nats

    nc = await nats.connect(endpoint.url, user=endpoint.user, password=endpoint.password)
    try:
        await nc.jetstream().publish("insights.fra-02.anomaly", b"{}")
    finally:
        await nc.close()
    # The model is removed from the zone: its result stream is no longer desired but holds a message.
    emptied = zone.model_copy(update={"spec": zone.spec.model_copy(update={"models": ()})})
    kept = await apply_nats(spec, emptied, endpoint, revision="rev2")
    assert [c.ref for c in kept.blocked] == ["Stream/fra-02/results-fra-02"]
    assert "holds 1 messages" in kept.blocked[0].detail
    pruned = {c.ref for c in kept.changes.with_action(Action.PRUNE)}
    assert "Stream/fra-02/input-fra-02-sensor-anomaly" in pruned  # empty: deleted
    async with await JetStreamAdmin.connect(endpoint) as admin:
        names = {s.config["name"] for s in (await admin.read()).streams}
    assert names == {"results-fra-02", "dead-letter-fra-02"}
    allowed = await apply_nats(spec, emptied, endpoint, revision="rev3", allow_stream_delete=True)
    assert not allowed.blocked
    async with await JetStreamAdmin.connect(endpoint) as admin:
        assert {s.config["name"] for s in (await admin.read()).streams} == {"dead-letter-fra-02"}


async def test_zone_assets_managed_through_the_hub(nats_fleet: NatsFleet) -> None:
    zone = nats_fleet.zone("fra-02")
    result = await apply_nats(nats_fleet.spec, zone, nats_fleet.via_hub("fra-02"), revision="rev1")
    assert result.status is NatsStatus.READY, result.error
    assert len(result.changes.with_action(Action.CREATE)) == 5
    direct = await plan_nats(nats_fleet.spec, zone, nats_fleet.endpoint("fra-02"))
    assert not direct.changes.pending


async def test_overlapping_subjects_degrade_the_zone_before_any_write(nats_fleet: NatsFleet) -> None:
    zone = nats_fleet.zone("fra-02")
    assignment = zone.spec.models[0].model_copy(update={"output": "sensors.fra-02.readings.scores"})
    bad = zone.model_copy(update={"spec": zone.spec.model_copy(update={"models": (assignment,)})})
    result = await apply_nats(
        nats_fleet.spec, bad, nats_fleet.endpoint("fra-02"), revision="r1", server=nats_fleet.direct("fra-02")
    )
    assert result.status is NatsStatus.DEGRADED
    assert "overlap" in (result.error or "")
    async with await JetStreamAdmin.connect(nats_fleet.endpoint("fra-02")) as admin:
        assert (await admin.read()).streams == ()
