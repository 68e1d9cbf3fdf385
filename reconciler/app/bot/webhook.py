"""`edgeops bot serve`: the PR bot as a webhook service (stdlib HTTP server).

Every delivery must carry `X-Hub-Signature-256: sha256=<HMAC-SHA256 of the raw body with the shared secret>`;
it is checked with a constant-time comparison before the body is even parsed. Unsigned or wrongly signed
deliveries get 401 and change nothing. Handled events:

    pull_request   opened | synchronize | reopened   → plan comment (handle_pull)
                   closed with merged = true         → rollout report (report_deploy)
    issue_comment  created, on a pull request        → /edgeops commands (handle_comment)
    push           to refs/heads/<base>              → nudge every region loop over NATS (when `nudge` is set)
    ping                                             → 200

Before any byte of the body is read, the request must carry a `Content-Length` of digits only (411 without
one, 400 for a malformed or negative one; chunked bodies are refused) and at most `MAX_BODY` (413). Every socket
read is bounded by `read_timeout` seconds, so a client that stops sending gets 408 (or, during the headers, a
closed connection) instead of holding a thread forever.

Deliveries are handled one at a time (a lock), so two pushes in quick succession cannot race on the comment.
A delivery that is not JSON, or lacks a field its event needs, gets 400; a failure while acting on it, 500.
A delivery handled once is not handled again: a replay of its `X-GitHub-Delivery` id gets 200 and changes
nothing (the ids of the last `RECENT_DELIVERIES` deliveries are remembered; one that failed is not, so GitHub's
redelivery of it is acted on).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from reconciler.app.bot.command import handle_comment
from reconciler.app.bot.deploy import report_deploy
from reconciler.app.bot.pull import PullOptions, handle_pull
from reconciler.app.gitops import Bot
from reconciler.core.nats import Nudge, NudgeSource
from reconciler.core.render import DEFAULT_NAMESPACE

log = logging.getLogger("edgeops.bot")
MAX_BODY = 25 * 1024 * 1024  # GitHub caps payloads at 25 MB
RECENT_DELIVERIES = 4096
READ_TIMEOUT_S = 10.0  # GitHub sends a whole delivery at once; a slower client is not GitHub

Nudger = Callable[[Nudge], str]  # publishes a nudge to every region; returns the subject


class RecentDeliveries:
    """The ids of the last `capacity` deliveries handled (oldest forgotten first)."""

    def __init__(self, capacity: int = RECENT_DELIVERIES) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, delivery: str) -> bool:
        return delivery in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def remember(self, delivery: str) -> None:
        self._ids[delivery] = None
        self._ids.move_to_end(delivery)
        while len(self._ids) > self.capacity:
            self._ids.popitem(last=False)


def declared_length(headers: Any) -> tuple[int, str] | int:
    """The body length a request declares, or (status, reason) when it must be refused before reading."""
    if headers.get("Transfer-Encoding"):
        return 411, "chunked bodies are not accepted; send Content-Length"
    values = headers.get_all("Content-Length") or []
    if not values:
        return 411, "Content-Length required"
    text = values[0].strip()
    if len(values) > 1 or not text.isascii() or not text.isdigit():
        return 400, "Content-Length must be one non-negative decimal number"
    length = int(text)
    if length > MAX_BODY:
        return 413, "payload too large"
    return length


def signature_valid(secret: bytes, body: bytes, header: str | None) -> bool:
    if not header or not header.startswith("sha256="):
        return False
    expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.encode())


class UnusablePayload(Exception):
    """The delivery lacks a field its event needs, or holds one of the wrong type."""


def _field(payload: Any, *path: str) -> Any:
    value = payload
    for key in path:
        if not isinstance(value, dict) or key not in value:
            raise UnusablePayload(f"no {'.'.join(path)}")
        value = value[key]
    return value


def _object(payload: Any, *path: str) -> dict[str, Any]:
    value = _field(payload, *path)
    if not isinstance(value, dict):
        raise UnusablePayload(f"{'.'.join(path)} is not an object")
    return value


def _number(payload: Any, *path: str) -> int:
    value = _field(payload, *path)
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).isdigit():
        raise UnusablePayload(f"{'.'.join(path)} is not a number")
    return int(value)


def handle_push(base: str, payload: dict[str, Any], nudge: Nudger | None) -> str:
    """A `push` delivery: a push to `base` nudges every region loop (the pushed commit is applied in seconds);
    a push elsewhere, or the deletion of `base`, does nothing."""
    ref = _field(payload, "ref")
    if ref != f"refs/heads/{base}":
        return f"ignored push to {ref}"
    if payload.get("deleted"):
        return f"ignored deletion of {ref}"
    after = payload.get("after")
    sha = after if isinstance(after, str) and after else None
    if nudge is None:
        return f"push to {base}: no nudge configured (the reconcilers' interval applies it)"
    subject = nudge(Nudge(sha=sha, why=f"push to {base}", source=NudgeSource.WEBHOOK))
    return f"nudged {subject} for {(sha or 'unknown')[:12]}"


def dispatch(
    bot: Bot,
    event: str,
    payload: dict[str, Any],
    kubeconfig: Path | None,
    namespace: str = DEFAULT_NAMESPACE,
    *,
    nudge: Nudger | None = None,
) -> str:
    """Act on one delivery; `UnusablePayload` when it lacks what its event needs."""
    options = PullOptions(kubeconfig=kubeconfig, namespace=namespace)
    if event == "ping":
        return "pong"
    if not isinstance(payload, dict):
        raise UnusablePayload("not a JSON object")
    if event == "push":
        return handle_push(bot.base, payload, nudge)
    if event == "pull_request":
        action, pr = payload.get("action"), _object(payload, "pull_request")
        if action in ("opened", "synchronize", "reopened"):
            report = handle_pull(bot, _number(payload, "pull_request", "number"), options)
            return f"planned #{report.number} ({'valid' if report.valid else 'invalid'})"
        if action == "closed" and pr.get("merged"):
            sha = str(pr.get("merge_commit_sha") or _field(payload, "pull_request", "head", "sha"))
            report_deploy(
                bot, sha, number=_number(payload, "pull_request", "number"), kubeconfig=kubeconfig, namespace=namespace
            )
            return f"reported rollout of {sha[:12]}"
        return f"ignored pull_request {action}"
    if event == "issue_comment":
        issue = _object(payload, "issue")
        if payload.get("action") != "created" or "pull_request" not in issue:
            return "ignored issue_comment"
        result = handle_comment(
            bot,
            _number(payload, "issue", "number"),
            str(_field(payload, "comment", "user", "login")),
            str(_field(payload, "comment", "body")),
            options,
        )
        return "no command" if result is None else f"{result.verb}: {'done' if result.accepted else 'refused'}"
    return f"ignored {event}"


def make_server(
    bot_factory: Callable[[], Bot],
    secret: bytes,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    kubeconfig: Path | None = None,
    namespace: str = DEFAULT_NAMESPACE,
    nudge: Nudger | None = None,
    recent: RecentDeliveries | None = None,
    read_timeout: float = READ_TIMEOUT_S,
) -> ThreadingHTTPServer:
    if not secret:
        raise ValueError("a webhook secret is required (an unsigned endpoint would act on anyone's payload)")
    lock = threading.Lock()
    handled = recent if recent is not None else RecentDeliveries()

    class Handler(BaseHTTPRequestHandler):
        timeout = read_timeout  # applied to the socket by StreamRequestHandler.setup

        def do_POST(self) -> None:
            length = declared_length(self.headers)
            if isinstance(length, tuple):
                self.close_connection = True  # the unread body must not be taken for the next request
                self._answer(*length)
                return
            body = self._read_body(length)
            if body is None:
                self.close_connection = True
                self._answer(408, f"body not received within {read_timeout:g}s")
                return
            if not signature_valid(secret, body, self.headers.get("X-Hub-Signature-256")):
                self._answer(401, "bad signature")
                return
            event = self.headers.get("X-GitHub-Event", "")
            try:
                payload = json.loads(body)
            except (json.JSONDecodeError, UnicodeDecodeError) as error:
                self._answer(400, f"unusable {event} payload: {error}")
                return
            delivery = (self.headers.get("X-GitHub-Delivery") or "")[:128]  # GitHub's are UUIDs
            try:
                with lock:
                    if delivery and delivery in handled:
                        outcome = f"delivery {delivery} already handled: ignored"
                    else:
                        outcome = dispatch(bot_factory(), event, payload, kubeconfig, namespace, nudge=nudge)
                        if delivery:
                            handled.remember(delivery)
            except UnusablePayload as error:
                self._answer(400, f"unusable {event} payload: {error}")
                return
            except Exception as error:  # report, keep serving
                log.exception("handling %s failed", event)
                self._answer(500, f"{type(error).__name__}: {error}")
                return
            self._answer(200, outcome)

        def _read_body(self, length: int) -> bytes | None:
            """The body, or None when it is not all there within `read_timeout` of the headers: one deadline for
            the whole body, so a client trickling a byte at a time cannot stretch it."""
            deadline = time.monotonic() + read_timeout
            chunks: list[bytes] = []
            remaining = length
            try:
                while remaining:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return None
                    self.connection.settimeout(left)
                    chunk = self.rfile.read1(min(remaining, 1 << 16))
                    if not chunk:
                        return None  # the client closed before sending it all
                    chunks.append(chunk)
                    remaining -= len(chunk)
            except TimeoutError:
                return None
            finally:
                self.connection.settimeout(read_timeout)
            return b"".join(chunks)

        def do_GET(self) -> None:
            self._answer(200, "edgeops bot: POST GitHub webhooks here")

        def _answer(self, status: int, text: str) -> None:
            data = (text + "\n").encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            log.info("%s %s", self.address_string(), format % args)

    return ThreadingHTTPServer((host, port), Handler)
