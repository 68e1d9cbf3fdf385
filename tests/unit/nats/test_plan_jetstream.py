"""plan_jetstream: desired JetStream assets against a server's reported state (pure).

Matrix: nothing live → create all (streams before consumers) | live equal (plus server-filled fields and a
revision) → unchanged | a managed setting edited → configure with a diff | a fixed setting (storage, retention,
ack policy) changed → recreate, blocked while the stream holds messages unless allowed | a foreign stream with our
name → skip-foreign, its consumers untouched | ours but no longer desired → prune (consumers before streams; a
stream with messages only when allowed) | foreign leftovers never pruned | hub sources from every zone's domain.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler.app.desired import load_desired
from reconciler.core.nats.assets import MANAGED_BY, REVISION, hub_assets, zone_assets
from reconciler.core.plan import Action, LiveConsumer, LiveJetStream, LiveStream, Op, plan_jetstream

pytestmark = pytest.mark.unit

SPEC = load_desired(Path(__file__).resolve().parents[3]).spec
assert SPEC is not None
ZONE = SPEC.zone("ams-01")
assert ZONE is not None
DESIRED = zone_assets(ZONE)


def as_live(config: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """What a server reports: our config, server-filled extras, our revision, plus `changes`."""
    reported = {**config, "first_seq": 0, "compression": "none", "sealed": False, **changes}
    reported["metadata"] = {**config.get("metadata", {}), REVISION: "old", "_nats.ver": "2.15.1"}
    return reported


def live_all(**stream_changes: dict[str, Any]) -> LiveJetStream:
    streams = tuple(LiveStream(as_live(s.to_api(), **stream_changes.get(s.name, {}))) for s in DESIRED.streams)
    consumers = tuple(LiveConsumer(c.stream, as_live(c.to_api())) for c in DESIRED.consumers)
    return LiveJetStream(streams, consumers)


def test_nothing_live_creates_everything_streams_first() -> None:
    steps = plan_jetstream(DESIRED, LiveJetStream())
    consumers = 2 * 12  # stable and canary, one per partition (ams-01: partitions: 12)
    assert [s.op for s in steps] == [Op.CREATE] * (4 + consumers)
    assert [s.kind for s in steps] == ["Stream"] * 4 + ["Consumer"] * consumers
    assert all(s.change.system == "nats" and s.change.namespace == "ams-01" for s in steps)
    assert '"filter_subject": "payments.ams-01.tx.canary.live.11.*"' in steps[-1].change.diff


def test_equal_state_is_unchanged() -> None:
    steps = plan_jetstream(DESIRED, live_all())
    assert {s.change.action for s in steps} == {Action.UNCHANGED}


def test_edited_setting_is_configured_with_a_diff() -> None:
    steps = plan_jetstream(DESIRED, live_all(**{"results-ams-01": {"max_age": 3600 * 10**9, "description": "x"}}))
    (changed,) = [s for s in steps if s.op is not Op.NONE]
    assert changed.op is Op.UPDATE
    assert changed.change.action is Action.CONFIGURE
    assert '-  "max_age": 3600000000000,' in changed.change.diff
    assert '+  "max_age": 604800000000000,' in changed.change.diff


@pytest.mark.parametrize(
    ("messages", "allow", "op"), [(0, False, Op.RECREATE), (5, False, Op.BLOCKED), (5, True, Op.RECREATE)]
)
def test_fixed_setting_needs_recreation(messages: int, allow: bool, op: Op) -> None:
    live = live_all(**{"input-ams-01-fraud-scoring": {"storage": "memory"}})
    streams = tuple(LiveStream(s.config, messages) for s in live.streams)
    steps = plan_jetstream(DESIRED, LiveJetStream(streams, live.consumers), allow_stream_delete=allow)
    (changed,) = [s for s in steps if s.op is not Op.NONE]
    assert changed.op is op
    assert "needs recreation (storage: memory -> file)" in changed.change.detail
    assert ("blocked: holds 5 messages" in changed.change.detail) is (op is Op.BLOCKED)


def test_consumer_ack_policy_change_recreates_the_consumer() -> None:
    live = live_all()
    consumers = tuple(
        LiveConsumer(c.stream, {**c.config, "ack_policy": "none"})
        if str(c.config["durable_name"]) == "fraud-scoring-canary-p3"
        else c
        for c in live.consumers
    )
    (changed,) = [s for s in plan_jetstream(DESIRED, LiveJetStream(live.streams, consumers)) if s.op is not Op.NONE]
    assert changed.op is Op.RECREATE
    assert changed.durable == "fraud-scoring-canary-p3"


def test_foreign_stream_is_skipped_with_its_consumers() -> None:
    live = live_all()
    foreign = {k: v for k, v in live.streams[0].config.items() if k != "metadata"}
    streams = (LiveStream(foreign, 3), *live.streams[1:])
    steps = plan_jetstream(DESIRED, LiveJetStream(streams, ()))
    assert steps[0].change.action is Action.SKIP_FOREIGN
    assert not [s for s in steps if s.kind == "Consumer"]


def test_prune_only_ours_and_streams_with_messages_only_when_allowed() -> None:
    live = live_all()
    ours = {MANAGED_BY: "edgeops"}
    extra_streams = (
        LiveStream({"name": "old-ours", "metadata": ours}, 7),
        LiveStream({"name": "empty-ours", "metadata": ours}, 0),
        LiveStream({"name": "someone-elses"}, 0),
    )
    extra_consumers = (
        LiveConsumer("input-ams-01-fraud-scoring", {"durable_name": "fraud-scoring-shadow", "metadata": ours}),
        LiveConsumer("input-ams-01-fraud-scoring", {"durable_name": "debugging"}),
    )
    state = LiveJetStream(live.streams + extra_streams, live.consumers + extra_consumers)
    tail = [(s.kind, s.change.name, s.op) for s in plan_jetstream(DESIRED, state) if s.change.action is Action.PRUNE]
    assert tail == [
        ("Consumer", "input-ams-01-fraud-scoring/fraud-scoring-shadow", Op.DELETE),
        ("Stream", "empty-ours", Op.DELETE),
        ("Stream", "old-ours", Op.BLOCKED),
    ]
    allowed = plan_jetstream(DESIRED, state, allow_stream_delete=True)
    assert [s.op for s in allowed if s.change.name == "old-ours"] == [Op.DELETE]


def test_hub_sources_every_zone_with_results() -> None:
    assert SPEC is not None
    hub = hub_assets(SPEC, "eu-west")
    (stream,) = hub.streams
    assert hub.domain == "hub-eu-west"
    assert stream.subjects == ()
    assert [(s.name, s.api) for s in stream.sources] == [
        ("results-ams-01", "$JS.ams-01.API"),
        ("results-fra-02", "$JS.fra-02.API"),
        ("results-lis-03", "$JS.lis-03.API"),
    ]
    sources = stream.to_api()["sources"]
    assert isinstance(sources, list)
    assert sources[0] == {"name": "results-ams-01", "external": {"api": "$JS.ams-01.API", "deliver": ""}}
