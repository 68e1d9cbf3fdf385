"""Webhook deliveries from the local forge, signed as GitHub signs them.

`WebhookSender` posts each event to the subscribed URL from a thread of its own (a slow receiver never holds the
forge's lock): `X-GitHub-Event`, a fresh `X-GitHub-Delivery` id and `X-Hub-Signature-256: sha256=<HMAC-SHA256 of
the body with the shared secret>`. A delivery that fails is retried a few times, then dropped with a log line (as
GitHub gives up and shows it as failed).

`RefWatcher` turns ref changes in the bare repository into `push` events — whoever pushed (the bot's git push, a
person's commit, a merge through the REST API) — and into `pull_request` `synchronize` events for open pull requests
whose head branch moved.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import queue
import threading
import urllib.request
import uuid
from typing import Any

import pygit2

from reconciler.sandbox.forge.state import FakeGitHub

log = logging.getLogger("edgeops.sandbox.forge")

_ZERO = "0" * 40
_ATTEMPTS = 5


def signature(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


class WebhookSender:
    """Deliver events to `url` in order, signed with `secret`; `deliveries` records (event, delivery, status)."""

    def __init__(self, url: str, secret: bytes, timeout_s: float = 60.0) -> None:
        self.url = url
        self._secret = secret
        self._timeout_s = timeout_s
        self._queue: queue.Queue[tuple[str, dict[str, Any]] | None] = queue.Queue()
        self.deliveries: list[tuple[str, str, int]] = []
        self._thread = threading.Thread(target=self._run, name="webhooks", daemon=True)
        self._thread.start()

    def __call__(self, event: str, payload: dict[str, Any]) -> None:
        self._queue.put((event, payload))

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=self._timeout_s)

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            event, payload = item
            body = json.dumps(payload).encode()
            delivery = str(uuid.uuid4())
            status = 0
            for _ in range(_ATTEMPTS):
                status = self._post(event, delivery, body)
                if 200 <= status < 300:
                    break
            self.deliveries.append((event, delivery, status))
            log.info("delivered %s %s: %s", event, delivery, status)

    def _post(self, event: str, delivery: str, body: bytes) -> int:
        request = urllib.request.Request(  # noqa: S310 - a URL the sandbox configured
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "X-GitHub-Event": event,
                "X-GitHub-Delivery": delivery,
                "X-Hub-Signature-256": signature(self._secret, body),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout_s) as reply:  # noqa: S310
                return int(reply.status)
        except urllib.error.HTTPError as error:
            return int(error.code)
        except OSError:
            return 0


class RefWatcher:
    """Poll the bare repository's branches; every change becomes a `push` event (and `synchronize` for open pull
    requests on that branch)."""

    def __init__(self, fake: FakeGitHub, every_s: float = 0.5) -> None:
        self._fake = fake
        self._every_s = every_s
        self._stop = threading.Event()
        self._seen = self._branches()
        self._thread = threading.Thread(target=self._run, name="refs", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _branches(self) -> dict[str, str]:
        repo = self._fake.git()
        return {name: str(repo.references[f"refs/heads/{name}"].target) for name in repo.branches.local}

    def _run(self) -> None:
        while not self._stop.wait(self._every_s):
            try:
                now = self._branches()
            except (pygit2.GitError, KeyError) as error:  # a ref being written: look again next time
                log.debug("reading the refs failed: %s", error)
                continue
            for branch in sorted(set(now) | set(self._seen)):
                before, after = self._seen.get(branch, _ZERO), now.get(branch, _ZERO)
                if before != after:
                    self._push(branch, before, after)
            self._seen = now

    def _push(self, branch: str, before: str, after: str) -> None:
        fake = self._fake
        if fake.on_event is None:
            return
        payload = {
            "ref": f"refs/heads/{branch}",
            "before": before,
            "after": after,
            "created": before == _ZERO,
            "deleted": after == _ZERO,
            "repository": fake.repository(),
            "pusher": {"name": "git"},
        }
        fake.on_event("push", payload)
        with fake.lock:
            moved = [pr for pr in fake.pulls.values() if pr["head"] == branch and pr["state"] == "open"]
            for pr in moved:
                fake.git().references.create(f"refs/pull/{pr['number']}/head", pygit2.Oid(hex=after), force=True)
        for pr in moved:
            fake.emit_pull("synchronize", pr)
