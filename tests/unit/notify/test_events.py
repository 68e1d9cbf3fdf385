"""Notification events: a zone episode in Degraded or Unreachable is announced once after the threshold and a new
episode again; event keys and ids are stable; payloads (JSON, Slack, CloudEvents 1.0) carry the severity and keep
hostile text inert; `spec.notifications` refuses a target that is neither or both kinds, or reads a zone secret;
for any sequence of passes there is at most one event per episode."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from reconciler.core.notify import Seen, ZoneEpisodes, as_cloudevent, as_json, as_slack, canary_ended, pull_failed
from reconciler.core.spec import Notifications

pytestmark = pytest.mark.unit

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
AFTER = timedelta(minutes=5)


def _at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_a_degraded_zone_is_announced_once_after_the_threshold_and_again_in_a_new_episode() -> None:
    episodes = ZoneEpisodes("eu-west", AFTER)
    assert episodes.observe([("ams-01", "Degraded", "0/2 available")], _at(0)) == []
    assert episodes.observe([("ams-01", "Degraded", "0/2 available")], _at(4)) == []
    [first] = episodes.observe([("ams-01", "Degraded", "0/2 available")], _at(5))
    assert (first.kind, first.severity, first.subject) == ("zone-degraded", "warning", "ams-01")
    assert episodes.observe([("ams-01", "Degraded", "0/2 available")], _at(30)) == []
    assert episodes.observe([("ams-01", "Synced", "")], _at(31)) == []
    episodes.observe([("ams-01", "Degraded", "")], _at(40))
    [second] = episodes.observe([("ams-01", "Degraded", "")], _at(46))
    assert second.key != first.key


def test_unreachable_is_its_own_episode_and_critical() -> None:
    episodes = ZoneEpisodes("eu-west", AFTER)
    episodes.observe([("ams-01", "Degraded", "")], _at(0))
    episodes.observe([("ams-01", "Unreachable", "refused")], _at(3))
    assert episodes.observe([("ams-01", "Unreachable", "refused")], _at(7)) == []  # 4 min into this episode
    [event] = episodes.observe([("ams-01", "Unreachable", "refused")], _at(8))
    assert (event.kind, event.severity) == ("zone-unreachable", "critical")
    assert event.data["reason"] == "refused"


@given(passes=st.lists(st.sampled_from(["Synced", "Degraded", "Unreachable", "Progressing"]), max_size=60))
def test_at_most_one_event_per_episode(passes: list[str]) -> None:
    episodes = ZoneEpisodes("eu-west", AFTER)
    keys = []
    for minute, status in enumerate(passes):
        keys += [e.key for e in episodes.observe([("ams-01", status, "")], _at(minute * 2))]
    assert len(keys) == len(set(keys))
    episodes_seen = sum(
        1
        for i, status in enumerate(passes)
        if status in ("Degraded", "Unreachable") and (i == 0 or passes[i - 1] != status)
    )
    assert len(keys) <= episodes_seen


def test_keys_name_the_event_identity() -> None:
    one = canary_ended(
        "eu-west",
        decision="rollback",
        model="m",
        version="1.1.0",
        zones=["ams-01"],
        pull=7,
        url="http://x/7",
        merged=True,
        reason="p95",
        now=T0,
    )
    again = canary_ended(
        "eu-west",
        decision="rollback",
        model="m",
        version="1.1.0",
        zones=["ams-01"],
        pull=7,
        url="http://x/7",
        merged=True,
        reason="p95",
        now=_at(9),
    )
    assert one.key == again.key
    assert one.id == again.id
    assert one.severity == "critical"
    assert pull_failed("eu-west", "ams-01", "m", None, T0).key != pull_failed("eu-west", "ams-01", "m", T0, T0).key
    seen = Seen(limit=2)
    assert seen.first_time("a")
    assert not seen.first_time("a")
    assert seen.first_time("b")
    assert seen.first_time("c")
    assert seen.first_time("a")  # forgotten beyond the bound


def test_payloads() -> None:
    event = pull_failed("eu-west", "<!channel> ams-01", "m&<b>", None, T0)
    cloud = as_cloudevent(event)
    assert cloud["specversion"] == "1.0"
    assert cloud["type"] == "io.edgeops.model-pull-failed"
    assert cloud["source"] == "/edgeops/regions/eu-west"
    assert cloud["severity"] == "warning"
    assert cloud["id"] == event.id
    assert json.loads(json.dumps(as_json(event)))["severity"] == "warning"
    slack = json.dumps(as_slack(event))
    assert "<!channel>" not in slack
    assert "<b>" not in slack
    assert "&lt;!channel&gt;" in slack


def test_notifications_config_is_checked() -> None:
    config = Notifications.model_validate(
        {
            "zoneAfter": "2m",
            "targets": [
                {"name": "ops", "webhook": {"url": {"env": "OPS_HOOK"}, "format": "slack"}, "minSeverity": "warning"},
                {"name": "hub", "cloudevents": {"subject": "edgeops.events"}, "events": ["rollback"]},
            ],
        }
    )
    assert config.zone_after == timedelta(minutes=2)
    for bad in (
        {"targets": [{"name": "x"}]},
        {"targets": [{"name": "x", "webhook": {"url": {"env": "A"}}, "cloudevents": {"subject": "s"}}]},
        {"targets": [{"name": "x", "webhook": {"url": {"secret": "hooks/url"}}}]},
        {"targets": [{"name": "x", "webhook": {"url": "https://hooks.example/secret-token"}}]},
        {"targets": [{"name": "x", "cloudevents": {"subject": "a b"}}]},
        {"targets": [{"name": "x", "cloudevents": {"subject": "s"}, "events": ["nope"]}]},
    ):
        with pytest.raises(ValidationError):
            Notifications.model_validate(bad)
