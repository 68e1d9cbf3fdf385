"""Notifications delivered to a real local HTTP receiver and a real nats-server: the generic JSON and the
Slack-compatible payload by webhook (URL from an environment variable), CloudEvents 1.0 (structured JSON, with
its content type) on the hub's subject; one delivery per event however often a pass sees it; the region loop's
hook turns zone results into episodes; a dead endpoint is retried a bounded number of times, counted, and never
holds up `send`."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from reconciler.app.notify import Notifier, ZoneWatch
from reconciler.core.load import LoadResult
from reconciler.core.notify import canary_ended
from reconciler.core.plan import ZonePlan, ZoneResult, ZoneStatus
from reconciler.core.spec import Notifications
from reconciler.shells.nats import NatsClient, NatsEndpoint, NatsMessage
from tests.fixtures.nats import NatsServer

pytestmark = pytest.mark.integration

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


class Receiver:
    def __init__(self, status: int = 200) -> None:
        self.bodies: list[tuple[str, Any]] = []
        received = self.bodies
        self.status = status
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                received.append((self.path, json.loads(self.rfile.read(length))))
                self.send_response(outer.status)
                self.end_headers()

            def log_message(self, *_: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


def _rollback(pull: int = 7) -> Any:
    return canary_ended(
        "eu-west",
        decision="rollback",
        model="fraud-scoring",
        version="1.1.0",
        zones=["ams-01"],
        pull=pull,
        url=f"http://forge/pull/{pull}",
        merged=True,
        reason="p95 80 ms > 30 ms",
        now=T0,
    )


def _config(url_env: str, **extra: Any) -> Notifications:
    return Notifications.model_validate(
        {
            "zoneAfter": "1m",
            "targets": [
                {"name": "plain", "webhook": {"url": {"env": url_env}}},
                {"name": "chat", "webhook": {"url": {"env": url_env}, "format": "slack"}, "minSeverity": "critical"},
                {"name": "events", "cloudevents": {"subject": "edgeops.events.eu-west"}},
            ],
            **extra,
        }
    )


def test_webhooks_and_cloudevents_once_per_event(
    receiver: Receiver, nats_server: NatsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_HOOK_URL", receiver.url + "/hook")
    got: list[NatsMessage] = []

    async def run() -> None:
        client = await NatsClient.connect(NatsEndpoint(nats_server.url))

        async def keep(msg: NatsMessage) -> None:
            got.append(msg)

        await client.subscribe("edgeops.events.eu-west", keep)
        await client.flush()
        notifier = Notifier("eu-west", hub=NatsEndpoint(nats_server.url))
        config = _config("TEST_HOOK_URL")
        for _ in range(3):  # three passes see the same rollback
            notifier.send(config, [_rollback()])
        assert await asyncio.to_thread(notifier.flush, 10.0)
        for _ in range(50):
            if got:
                break
            await asyncio.sleep(0.05)
        await client.close()

    asyncio.run(run())
    kinds = sorted((path, "attachments" in body) for path, body in receiver.bodies)
    assert kinds == [("/hook", False), ("/hook", True)]  # plain JSON and Slack, once each
    plain = next(body for _, body in receiver.bodies if "attachments" not in body)
    assert plain["kind"] == "rollback"
    assert plain["severity"] == "critical"
    assert plain["data"]["pull_request"] == 7
    assert len(got) == 1
    event = json.loads(got[0].data)
    assert event["specversion"] == "1.0"
    assert event["type"] == "io.edgeops.rollback"
    assert event["id"] == _rollback().id
    assert got[0].headers.get("content-type") == "application/cloudevents+json"


def test_zone_watch_announces_an_episode_once(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    from reconciler.app.desired import load_desired
    from tests.fixtures.template_repo import REPO_ROOT

    monkeypatch.setenv("TEST_HOOK_URL", receiver.url + "/zones")
    base = load_desired(REPO_ROOT)
    assert base.spec is not None
    fleet = base.spec.fleet.model_copy(
        update={"spec": base.spec.fleet.spec.model_copy(update={"notifications": _config("TEST_HOOK_URL")})}
    )
    load = LoadResult(dataclasses.replace(base.spec, fleet=fleet), ())
    watch = ZoneWatch(Notifier("eu-west"))

    def result(status: ZoneStatus) -> ZoneResult:
        return ZoneResult("ams-01", status, "abc", ZonePlan("ams-01", "abc"), message="0/2 available")

    for minute in range(5):
        watch.after_pass(load, [result(ZoneStatus.DEGRADED)], T0 + timedelta(minutes=minute))
    assert watch.notifier.flush(10.0)
    assert [body["kind"] for _, body in receiver.bodies] == ["zone-degraded"]  # the Slack target wants critical
    assert receiver.bodies[0][1]["data"]["reason"] == "0/2 available"


def test_a_dead_endpoint_is_retried_a_bounded_number_of_times_and_counted(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver.status = 503
    monkeypatch.setenv("TEST_HOOK_URL", receiver.url + "/down")
    notifier = Notifier("eu-west", attempts=3, retry_s=0.01)
    config = Notifications.model_validate(
        {"targets": [{"name": "plain", "webhook": {"url": {"env": "TEST_HOOK_URL"}}}]}
    )
    started = time.monotonic()
    notifier.send(config, [_rollback(1), _rollback(2)])
    assert time.monotonic() - started < 0.5  # delivery happens off the caller's thread
    assert notifier.flush(10.0)
    assert len(receiver.bodies) == 6  # 2 events × 3 attempts, then given up
    failures = notifier.metrics.registry.get_sample_value(
        "edgeops_notification_failures_total", {"target": "plain", "kind": "rollback"}
    )
    assert failures == 2
    monkeypatch.delenv("TEST_HOOK_URL")
    notifier.send(config, [_rollback(3)])  # an unset variable: no retry, counted
    assert notifier.flush(10.0)
    assert len(receiver.bodies) == 6
    assert (
        notifier.metrics.registry.get_sample_value(
            "edgeops_notification_failures_total", {"target": "plain", "kind": "rollback"}
        )
        == 3
    )
