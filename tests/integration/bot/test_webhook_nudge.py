"""The bot's webhook service nudging the region loops: real HTTP service (`make_server`, as `edgeops bot serve
--nudge-nats` runs it), real nats-server, the local GitHub with a bare remote.

Matrix: a signed push to main → one nudge on `edgeops.reconciler.nudge`, with the pushed commit, from the
webhook; the same delivery replayed → 200, nothing published; unsigned or wrongly signed → 401, nothing
published; a push to another branch → nothing published; the hub down → 500 (GitHub shows the failed delivery)
and the delivery is not remembered, so its redelivery nudges once the hub is back.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from reconciler.app.bot import make_server
from reconciler.app.gitops import Bot, publish_nudge
from reconciler.core.nats import NUDGE_ALL_SUBJECT, Nudge, NudgeSource, decode_nudge
from reconciler.shells.forge import Forge
from reconciler.shells.git import Workspace
from reconciler.shells.nats import NatsClient, NatsEndpoint, NatsMessage
from tests.fixtures.github import BOT_TOKEN, NAME, OWNER, GitHubRemote
from tests.fixtures.nats import NatsServer
from tests.support.webhooks import deliver

pytestmark = pytest.mark.integration
SECRET = b"s3cret"


@pytest.fixture
def bot(github_remote: GitHubRemote, tmp_path: Path) -> Bot:
    workspace = Workspace.open_or_clone(str(github_remote.bare), tmp_path / "bot-clone")
    return Bot(workspace, Forge(OWNER, NAME, url=github_remote.url, token=BOT_TOKEN))


@pytest.fixture
def webhook(bot: Bot, nats_server: NatsServer) -> Iterator[str]:
    hub = NatsEndpoint(nats_server.url, timeout_s=2.0)
    server = make_server(lambda: bot, SECRET, nudge=lambda sent: publish_nudge(hub, sent))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


async def _subscribed(url: str) -> tuple[NatsClient, list[NatsMessage]]:
    received: list[NatsMessage] = []

    async def keep(message: NatsMessage) -> None:
        received.append(message)

    client = await NatsClient.connect(NatsEndpoint(url))
    await client.subscribe(NUDGE_ALL_SUBJECT, keep)
    await client.flush()
    return client, received


def _push(ref: str, sha: str) -> dict[str, object]:
    return {"ref": ref, "before": "0" * 40, "after": sha, "deleted": False, "repository": {"full_name": "acme/x"}}


async def _post(url: str, payload: object, *, secret: bytes | None = SECRET, delivery: str) -> tuple[int, str]:
    return await asyncio.to_thread(deliver, url, "push", payload, secret=secret, delivery=delivery)


async def test_only_a_signed_fresh_push_to_main_publishes_a_nudge(
    github_remote: GitHubRemote, webhook: str, nats_server: NatsServer
) -> None:
    client, received = await _subscribed(nats_server.url)
    sha = github_remote.human_push("main", {"README.md": "nudge me\n"}, "docs")
    to_main = _push("refs/heads/main", sha)

    assert await _post(webhook, to_main, secret=None, delivery="d-unsigned") == (401, "bad signature")
    assert (await _post(webhook, to_main, secret=b"wrong", delivery="d-wrong"))[0] == 401
    assert (await _post(webhook, _push("refs/heads/feature", sha), delivery="d-feature"))[1].startswith("ignored")
    assert await _post(webhook, to_main, delivery="d-main") == (200, f"nudged {NUDGE_ALL_SUBJECT} for {sha[:12]}")
    assert await _post(webhook, to_main, delivery="d-main") == (200, "delivery d-main already handled: ignored")

    await client.flush()
    await _until(lambda: len(received) >= 1)
    await client.drain()
    assert [decode_nudge(m.data) for m in received] == [Nudge(sha=sha, why="push to main", source=NudgeSource.WEBHOOK)]


async def test_a_push_while_the_hub_is_down_fails_and_its_redelivery_nudges(
    github_remote: GitHubRemote, webhook: str, nats_server: NatsServer
) -> None:
    sha = github_remote.human_push("main", {"README.md": "later\n"}, "docs")
    nats_server.stop()
    status, text = await _post(webhook, _push("refs/heads/main", sha), delivery="d-down")
    assert status == 500
    assert "NatsUnreachable" in text
    nats_server.start()
    client, received = await _subscribed(nats_server.url)
    assert (await _post(webhook, _push("refs/heads/main", sha), delivery="d-down"))[0] == 200
    await _until(lambda: len(received) == 1)
    await client.drain()
    assert decode_nudge(received[0].data).sha == sha


async def _until(done: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not done():
        assert asyncio.get_running_loop().time() < deadline, "not reached in time"
        await asyncio.sleep(0.02)
