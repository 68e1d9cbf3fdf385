"""Core NATS messaging through nats-py: publish records, and hand each message of a subscription to a handler.

A `NatsClient` is one connection as one user. Messages cross this boundary as `NatsMessage` values (subject, data,
headers); nats-py's `Msg` stays inside. How it connects (`Reconnect`):

    DEFAULT   nats-py's defaults: it reconnects and buffers while a server restarts (a stream of records)
    FOREVER   waits for the server however long it is down, first connection included, and resubscribes on every
              reconnect (a long-lived listener that must never give up, nor hold up its process while waiting)
    NEVER     fails fast (within twice the endpoint's timeout) when the server is not there (a one-off publish)
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from reconciler.shells.nats.connect import open_client
from reconciler.shells.nats.errors import wrap_client_error
from reconciler.shells.nats.jetstream import NatsEndpoint


@dataclass(frozen=True)
class NatsMessage:
    subject: str
    data: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


MessageHandler = Callable[[NatsMessage], Awaitable[None]]
log = logging.getLogger("edgeops.nats")


class Reconnect(Enum):
    DEFAULT = "default"
    FOREVER = "forever"
    NEVER = "never"


class NatsClient:
    def __init__(self, nc: Any, endpoint: NatsEndpoint) -> None:
        self._nc = nc
        self.endpoint = endpoint

    @classmethod
    async def connect(
        cls, endpoint: NatsEndpoint, reconnect: Reconnect = Reconnect.DEFAULT, *, name: str | None = None
    ) -> NatsClient:
        options: dict[str, Any] = {"servers": [endpoint.url]}
        if name is not None:
            options["name"] = name
        if endpoint.user is not None:
            options["user"] = endpoint.user
            options["password"] = endpoint.password or ""
        if reconnect is Reconnect.FOREVER:
            options.update(_forever(endpoint.url), max_reconnect_attempts=-1, reconnect_time_wait=1)
        elif reconnect is Reconnect.NEVER:
            options.update(
                _quiet(), allow_reconnect=False, max_reconnect_attempts=0, connect_timeout=endpoint.timeout_s
            )
        try:
            nc = await open_client(options, endpoint.timeout_s * 2 if reconnect is Reconnect.NEVER else None)
        except Exception as exc:
            raise wrap_client_error(exc, f"connect to {endpoint.url}") from exc
        return cls(nc, endpoint)

    async def publish(self, subject: str, data: bytes, headers: Mapping[str, str] | None = None) -> None:
        try:
            await self._nc.publish(subject, data, headers=dict(headers) if headers is not None else None)
        except Exception as exc:
            raise wrap_client_error(exc, f"publish to {subject}") from exc

    async def subscribe(self, subject: str, handler: MessageHandler) -> None:
        """Call `handler` with every message on `subject` (wildcards allowed) until the connection is drained."""

        async def deliver(msg: Any) -> None:
            await handler(NatsMessage(msg.subject, msg.data, dict(msg.headers or {})))

        try:
            await self._nc.subscribe(subject, cb=deliver)
        except Exception as exc:
            raise wrap_client_error(exc, f"subscribe to {subject}") from exc

    async def flush(self) -> None:
        """Wait until the server has everything sent so far (a subscription made before it is in place)."""
        try:
            await self._nc.flush()
        except Exception as exc:
            raise wrap_client_error(exc, f"flush to {self.endpoint.url}") from exc

    async def close(self) -> None:
        """Close at once (what is buffered is dropped); a connection already broken closes quietly."""
        try:
            await self._nc.close()
        except Exception as exc:  # closing must not hide the error that broke the connection
            del exc

    async def drain(self) -> None:
        """Deliver what subscriptions have received, send what is buffered, then close."""
        try:
            await self._nc.drain()
        except Exception as exc:
            raise wrap_client_error(exc, f"drain the connection to {self.endpoint.url}") from exc


def _quiet() -> dict[str, Any]:
    async def ignore(_exc: Exception) -> None:  # errors surface through the calls that fail
        return None

    return {"error_cb": ignore}


def _forever(url: str) -> dict[str, Any]:
    """Callbacks that say, once per change, that the server went away or came back, and each kind of error once
    (nats-py's own error callback would log every failed attempt of an endless retry, a refused login included)."""
    seen: set[str] = set()

    async def error(exc: Exception) -> None:
        said = f"{type(exc).__name__}: {exc}"
        log.log(logging.DEBUG if said in seen else logging.WARNING, "nats %s: %s", url, said)
        seen.add(said)

    async def disconnected() -> None:
        log.warning("nats %s: disconnected; reconnecting", url)

    async def reconnected() -> None:
        log.info("nats %s: reconnected", url)

    return {"error_cb": error, "disconnected_cb": disconnected, "reconnected_cb": reconnected}
