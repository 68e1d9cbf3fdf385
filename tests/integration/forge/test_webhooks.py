"""The local forge's webhook deliveries, received by a real HTTP server that checks them as the bot does
(`signature_valid`): a person's git push to a branch → a signed `push`; opening a pull request → `pull_request`
`opened`; a push to its head branch → `push` then `synchronize`; the merge → `pull_request` `closed` (merged) and
a `push` to main with the merge commit; a delivery signed with another secret fails the check."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from reconciler.app.bot.webhook import signature_valid
from reconciler.sandbox.forge import RefWatcher, WebhookSender, signature
from reconciler.shells.forge import Forge
from tests.fixtures.github import ADMIN_TOKEN, NAME, OWNER, GitHubRemote

pytestmark = pytest.mark.integration

SECRET = b"webhook-secret-for-tests"


class Receiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.bad_signatures = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if signature_valid(SECRET, body, self.headers.get("X-Hub-Signature-256")):
                    receiver.events.append((self.headers["X-GitHub-Event"], json.loads(body)))
                    self.send_response(200)
                else:
                    receiver.bad_signatures += 1
                    self.send_response(401)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"

    def wait_for(self, count: int, timeout_s: float = 20.0) -> list[tuple[str, dict[str, Any]]]:
        deadline = time.monotonic() + timeout_s
        while len(self.events) < count:
            assert time.monotonic() < deadline, f"{len(self.events)} of {count} deliveries: {self.events}"
            time.sleep(0.05)
        return self.events


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_pushes_and_pull_requests_are_delivered_signed(github_remote: GitHubRemote, receiver: Receiver) -> None:
    sender = WebhookSender(receiver.url, SECRET)
    github_remote.fake.on_event = sender
    watcher = RefWatcher(github_remote.fake, every_s=0.1)
    try:
        first = github_remote.human_push("more-replicas", {"README.md": "one\n"}, "one")
        event, push = receiver.wait_for(1)[0]
        assert event == "push"
        assert push["ref"] == "refs/heads/more-replicas"
        assert push["after"] == first
        assert push["created"] is True
        assert push["repository"]["full_name"] == f"{OWNER}/{NAME}"

        forge = Forge(OWNER, NAME, url=github_remote.url, token=ADMIN_TOKEN)
        pull, _ = forge.open_or_update_pull(branch="more-replicas", base="main", title="more", body="b")
        event, opened = receiver.wait_for(2)[1]
        assert (event, opened["action"], opened["number"]) == ("pull_request", "opened", pull.number)
        assert opened["pull_request"]["head"]["sha"] == first

        second = github_remote.human_push("more-replicas", {"README.md": "two\n"}, "two")
        kinds = [(e, p.get("action"), p.get("after")) for e, p in receiver.wait_for(4)[2:4]]
        assert kinds == [("push", None, second), ("pull_request", "synchronize", None)]

        forge.merge(pull.number, sha=second, message="Merge more replicas")
        merged = receiver.wait_for(6)[4:6]
        closed = next(p for e, p in merged if e == "pull_request")
        assert closed["action"] == "closed"
        assert closed["pull_request"]["merged"] is True
        to_main = next(p for e, p in merged if e == "push")
        assert to_main["ref"] == "refs/heads/main"
        assert to_main["after"] == closed["pull_request"]["merge_commit_sha"]
    finally:
        watcher.close()
        sender.close()
    assert receiver.bad_signatures == 0
    assert [status for _, _, status in sender.deliveries] == [200] * 6


def test_a_delivery_signed_with_another_secret_is_refused(receiver: Receiver) -> None:
    sender = WebhookSender(receiver.url, b"another secret")
    sender("ping", {"zen": "x"})
    sender.close()
    assert receiver.bad_signatures >= 1
    assert receiver.events == []
    assert signature(SECRET, b"{}") != signature(b"another secret", b"{}")
