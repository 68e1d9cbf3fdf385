"""`edgeops canary run --nudge-nats`: after the controller merged a rollback it nudges its region's reconciler.
Real Prometheus scraping an exporter with an erroring canary, the local GitHub, a real nats-server as the hub.

Matrix: hub up → the rollback is merged and one nudge reaches `edgeops.reconciler.eu-west.nudge` (source
canary, naming the pull request), nothing on another region's subject; hub down → the rollback is merged all
the same, the output says the nudge was not sent, and the command succeeds (the reconciler's interval is the
fallback).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reconciler.cli.main import app
from reconciler.core.nats import NudgeSource, decode_nudge, nudge_subject
from reconciler.sandbox import free_port
from reconciler.shells.nats import NatsClient, NatsEndpoint, NatsMessage
from tests.fixtures.github import BOT_TOKEN, GitHubRemote
from tests.fixtures.nats import NatsServer
from tests.fixtures.prometheus import Exporter, PrometheusServer

pytestmark = pytest.mark.integration
ZONE_FILE = "zones/eu-west/ams-01.yaml"


def _erroring_canary(prometheus_with_exporter: tuple[PrometheusServer, Exporter]) -> str:
    server, exporter = prometheus_with_exporter
    base = {"zone": "ams-01", "model": "fraud-scoring"}
    exporter.set_profile(
        [
            {**base, "version": "1.0.0", "track": "stable", "rate": 200, "p95Ms": 10.0, "errorRatio": 0},
            {**base, "version": "1.1.0", "track": "canary", "rate": 200, "p95Ms": 12.0, "errorRatio": 0.3},
        ]
    )
    server.wait_for_value(
        'sum(increase(edgeops_requests_total{zone="ams-01",track="canary"}[5s]))',
        lambda n: n >= 600,
        "a full window of erroring canary traffic",
    )
    return server.url


def _canary_run(remote: GitHubRemote, prometheus: str, hub: str, tmp_path: Path) -> tuple[int, str]:
    args = ["canary", "run", "--once", "--region", "eu-west", "--prometheus", prometheus, "--window", "5s"]
    args += ["--nudge-nats", hub, "--github-url", remote.url, "--clone-url", str(remote.bare)]
    args += ["--workdir", str(tmp_path / "clone")]
    env = {"GITHUB_REPOSITORY": "acme/edge-fleet", "EDGEOPS_GITHUB_TOKEN": BOT_TOKEN}
    result = CliRunner().invoke(app, args, env=env)
    return result.exit_code, result.output + (repr(result.exception) if result.exit_code else "")


class Subscriber:
    """Messages on `subjects`, collected by a connection on a thread of its own (the command under test must run
    on the main thread: it installs signal handlers)."""

    def __init__(self, url: str, subjects: tuple[str, ...]) -> None:
        self.received: list[NatsMessage] = []
        self._url, self._subjects = url, subjects
        self._ready, self._done = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def __enter__(self) -> Subscriber:
        self._thread.start()
        assert self._ready.wait(30), "not subscribed"
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join(30)

    async def _run(self) -> None:
        async def keep(message: NatsMessage) -> None:
            self.received.append(message)

        client = await NatsClient.connect(NatsEndpoint(self._url))
        for subject in self._subjects:
            await client.subscribe(subject, keep)
        await client.flush()
        self._ready.set()
        await asyncio.to_thread(self._done.wait, 60)
        await client.drain()


def test_a_merged_rollback_nudges_the_region(
    github_remote: GitHubRemote,
    prometheus_with_exporter: tuple[PrometheusServer, Exporter],
    nats_server: NatsServer,
    tmp_path: Path,
) -> None:
    prometheus = _erroring_canary(prometheus_with_exporter)
    with Subscriber(nats_server.url, (nudge_subject("eu-west"), nudge_subject("us-east"))) as subscriber:
        code, out = _canary_run(github_remote, prometheus, nats_server.url, tmp_path)
        assert code == 0, out
        deadline = time.monotonic() + 10
        while not subscriber.received and time.monotonic() < deadline:
            time.sleep(0.05)
    assert "merged" in out
    assert f"nudged {nudge_subject('eu-west')}" in out
    assert "canary:" not in github_remote.main_text(ZONE_FILE)
    assert [m.subject for m in subscriber.received] == [nudge_subject("eu-west")]
    nudge = decode_nudge(subscriber.received[0].data)
    assert nudge.source is NudgeSource.CANARY
    assert nudge.why is not None
    assert nudge.why.startswith("merged #")
    assert json.loads(subscriber.received[0].data)["source"] == "canary"


def test_a_hub_that_is_down_does_not_hold_up_the_rollback(
    github_remote: GitHubRemote, prometheus_with_exporter: tuple[PrometheusServer, Exporter], tmp_path: Path
) -> None:
    prometheus = _erroring_canary(prometheus_with_exporter)
    code, out = _canary_run(github_remote, prometheus, f"nats://127.0.0.1:{free_port()}", tmp_path)
    assert code == 0, out
    assert "merged" in out
    assert "nudge not sent" in out
    assert "canary:" not in github_remote.main_text(ZONE_FILE)
