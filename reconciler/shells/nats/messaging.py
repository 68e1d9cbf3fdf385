"""Core NATS messaging through nats-py: publish records, and hand each message of a subscription to a handler.

A `NatsClient` is one connection as one user. Messages cross this boundary as `NatsMessage` values (subject, data,
headers); nats-py's `Msg` stays inside. The connection keeps nats-py's defaults (it reconnects and buffers while a
server restarts): it carries a stream of records, unlike `JetStreamAdmin`, which must fail fast on a down zone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import nats

from reconciler.shells.nats.errors import wrap_client_error
from reconciler.shells.nats.jetstream import NatsEndpoint


@dataclass(frozen=True)
class NatsMessage:
    subject: str
    data: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


MessageHandler = Callable[[NatsMessage], Awaitable[None]]


class NatsClient:
    def __init__(self, nc: Any, endpoint: NatsEndpoint) -> None:
        self._nc = nc
        self.endpoint = endpoint

    @classmethod
    async def connect(cls, endpoint: NatsEndpoint) -> NatsClient:
        options: dict[str, Any] = {"servers": [endpoint.url]}
        if endpoint.user is not None:
            options["user"] = endpoint.user
            options["password"] = endpoint.password or ""
        try:
            nc = await nats.connect(**options)
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

    async def drain(self) -> None:
        """Deliver what subscriptions have received, send what is buffered, then close."""
        try:
            await self._nc.drain()
        except Exception as exc:
            raise wrap_client_error(exc, f"drain the connection to {self.endpoint.url}") from exc
