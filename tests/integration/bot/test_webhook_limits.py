"""The webhook service against hostile HTTP clients, over real sockets: a request without a Content-Length, with a
negative, malformed or duplicated one, or chunked, is refused before the body is read; an oversized one is refused
unread; a client that stops sending gets 408 within the read timeout (and one that trickles cannot stretch it); a
replayed signed delivery is acted on once. None of them reaches the bot."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from reconciler.app.bot.webhook import MAX_BODY, make_server
from tests.support.webhooks import deliver

pytestmark = pytest.mark.integration

SECRET = b"s3cret"
TIMEOUT_S = 1.0


class NoBot:
    """The bot factory: any call means a refused request reached the bot."""

    calls = 0

    def __call__(self) -> object:
        self.calls += 1
        raise AssertionError("a refused request reached the bot")


@pytest.fixture
def server() -> Iterator[tuple[str, int, NoBot]]:
    bot = NoBot()
    httpd = make_server(bot, SECRET, read_timeout=TIMEOUT_S)  # type: ignore[arg-type]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    host, port = httpd.server_address[:2]
    yield str(host), int(port), bot
    httpd.shutdown()
    httpd.server_close()


def exchange(address: tuple[str, int], head: str, body: bytes = b"", *, wait_s: float = 5.0) -> str:
    """Send raw request bytes, then read the status line the server answers (without closing our side)."""
    with socket.create_connection(address, timeout=wait_s) as sock:
        sock.sendall(head.encode() + b"\r\n" + body)
        reply = b""
        while b"\r\n" not in reply:
            chunk = sock.recv(4096)
            if not chunk:
                break
            reply += chunk
    return reply.split(b"\r\n", 1)[0].decode()


HEAD = "POST / HTTP/1.1\r\nHost: bot\r\nX-GitHub-Event: ping\r\nX-Hub-Signature-256: sha256=00\r\n"


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ("", "411"),
        ("Content-Length: -1\r\n", "400"),
        ("Content-Length: -100000\r\n", "400"),
        ("Content-Length: 1e3\r\n", "400"),
        ("Content-Length: +5\r\n", "400"),
        ("Content-Length: ５\r\n", "400"),
        ("Content-Length: 5\r\nContent-Length: 6\r\n", "400"),
        ("Transfer-Encoding: chunked\r\n", "411"),
        (f"Content-Length: {MAX_BODY + 1}\r\n", "413"),
    ],
)
def test_a_bad_length_is_refused_before_reading(server: tuple[str, int, NoBot], headers: str, status: str) -> None:
    host, port, bot = server
    # the body is never sent: a server that tried to read it would wait, not answer
    line = exchange((host, port), HEAD + headers, wait_s=TIMEOUT_S / 2)
    assert line.split()[1] == status, line
    assert bot.calls == 0


def test_a_client_that_stops_sending_times_out(server: tuple[str, int, NoBot]) -> None:
    host, port, _ = server
    started = time.monotonic()
    line = exchange((host, port), HEAD + "Content-Length: 100\r\n", b"{" * 10)
    assert line.split()[1] == "408", line
    assert time.monotonic() - started < TIMEOUT_S + 2


def test_a_trickling_client_cannot_stretch_the_deadline(server: tuple[str, int, NoBot]) -> None:
    host, port, _ = server
    started = time.monotonic()
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall((HEAD + "Content-Length: 1000\r\n\r\n").encode())
        answer = b""
        for _ in range(40):  # a byte every tenth of a second: each read succeeds, the whole never arrives
            try:
                sock.sendall(b"x")
            except OSError:
                break
            sock.settimeout(0.1)
            try:
                answer += sock.recv(4096)
            except TimeoutError:
                continue
            if answer:
                break
    assert answer.startswith(b"HTTP/1.0 408") or answer.startswith(b"HTTP/1.1 408"), answer
    assert time.monotonic() - started < TIMEOUT_S + 2


def test_a_replayed_delivery_is_acted_on_once() -> None:
    made: list[object] = []

    class Pinged:
        base = "main"

    def factory() -> object:
        made.append(object())
        return Pinged()

    httpd = make_server(factory, SECRET)  # type: ignore[arg-type]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = httpd.server_address[:2]
        url = f"http://{host!s}:{port}/"
        push = {"ref": "refs/heads/main", "after": "a" * 40}
        first = deliver(url, "push", push, secret=SECRET, delivery="d-1")
        again = deliver(url, "push", push, secret=SECRET, delivery="d-1")
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert first[0] == again[0] == 200
    assert "already handled" in again[1]
    assert len(made) == 1
