"""JetStream management through nats-py: read a domain's streams and consumers, carry out planned steps.

A `JetStreamAdmin` talks to one server and addresses one JetStream domain: the server's own (`domain=None`) or,
through a leafnode, a zone's (`$JS.<domain>.API`), so a region's reconciler can manage every zone from its hub.
Configs cross this boundary as JetStream API JSON (durations in nanoseconds), the form `reconciler.core.nats`
renders and compares; nats-py's dataclasses are only the transport.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nats.js import api

from reconciler.core.nats import MANAGED_BY, MANAGER, REVISION, js_api_prefix
from reconciler.core.plan import LiveConsumer, LiveJetStream, LiveStream, Op, Step
from reconciler.shells.nats.connect import open_client
from reconciler.shells.nats.errors import NatsError, wrap_client_error


@dataclass(frozen=True)
class NatsEndpoint:
    """Where to reach a JetStream domain. `password` is read by the caller from its secret store, never git."""

    url: str
    domain: str | None = None
    user: str | None = None
    password: str | None = None
    timeout_s: float = 5.0


def _with_revision(config: Mapping[str, object], revision: str | None) -> dict[str, Any]:
    sent = copy.deepcopy(dict(config))
    metadata = {MANAGED_BY: MANAGER}
    if revision is not None:
        metadata[REVISION] = revision
    sent["metadata"] = metadata
    return sent


def _live_consumer(stream: str, info: api.ConsumerInfo) -> LiveConsumer:
    """Its config, the records it holds (not yet delivered, or delivered and unacknowledged), its last delivery or
    acknowledgement and its creation."""
    pending = (info.num_pending or 0) + (info.num_ack_pending or 0)
    moments = [s.last_active for s in (info.delivered, info.ack_floor) if s is not None]
    last = max((m for m in moments if isinstance(m, datetime)), default=None)
    created = info.created if isinstance(info.created, datetime) else None
    return LiveConsumer(stream, info.config.as_dict(), pending, last, created)


class JetStreamAdmin:
    def __init__(self, nc: Any, endpoint: NatsEndpoint) -> None:
        self._nc = nc
        self.endpoint = endpoint
        prefix = js_api_prefix(endpoint.domain) if endpoint.domain else "$JS.API"
        self._jsm = nc.jsm(prefix=prefix, timeout=endpoint.timeout_s)

    @classmethod
    async def connect(cls, endpoint: NatsEndpoint) -> JetStreamAdmin:
        async def quiet(_exc: Exception) -> None:  # errors surface through the calls that fail
            return None

        options: dict[str, Any] = {
            "servers": [endpoint.url],
            "connect_timeout": endpoint.timeout_s,
            "allow_reconnect": False,
            "max_reconnect_attempts": 0,
            "error_cb": quiet,
            "name": "edgeops-reconciler",
        }
        if endpoint.user is not None:
            options["user"] = endpoint.user
            options["password"] = endpoint.password or ""
        try:
            # nats-py keeps retrying a refused first connection on its own; bound it so a down zone fails fast.
            nc = await open_client(options, timeout_s=endpoint.timeout_s * 2)
        except Exception as exc:
            raise wrap_client_error(exc, f"connect to {endpoint.url}") from exc
        return cls(nc, endpoint)

    async def close(self) -> None:
        try:
            await self._nc.close()
        except Exception as exc:  # closing a broken connection must not hide the error that broke it
            del exc

    async def __aenter__(self) -> JetStreamAdmin:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def read(self) -> LiveJetStream:
        """Every stream of the domain (with its message count) and every consumer on them."""
        where = f"domain {self.endpoint.domain or '(local)'} at {self.endpoint.url}"
        try:
            infos = await self._jsm.streams_info()
            streams = tuple(LiveStream(info.config.as_dict(), info.state.messages) for info in infos)
            consumers: list[LiveConsumer] = []
            for info in infos:
                for consumer in await self._jsm.consumers_info(info.config.name):
                    consumers.append(_live_consumer(info.config.name, consumer))
        except Exception as exc:
            raise wrap_client_error(exc, f"read JetStream assets of {where}") from exc
        return LiveJetStream(streams, tuple(consumers))

    async def stream_config(self, name: str) -> dict[str, Any]:
        try:
            info = await self._jsm.stream_info(name)
        except Exception as exc:
            raise wrap_client_error(exc, f"stream info {name}") from exc
        config: dict[str, Any] = info.config.as_dict()
        return config

    async def execute(self, step: Step, revision: str | None) -> None:
        """Carry out one step; `Op.NONE`, `Op.BLOCKED` and `Op.DRAIN` send nothing."""
        if step.op in (Op.NONE, Op.BLOCKED, Op.DRAIN):
            return
        try:
            if step.kind == "Stream":
                await self._stream(step, revision)
            else:
                await self._consumer(step, revision)
        except NatsError:
            raise
        except Exception as exc:
            raise wrap_client_error(exc, f"{step.op.value} {step.change.ref}") from exc

    async def _stream(self, step: Step, revision: str | None) -> None:
        if step.op in (Op.DELETE, Op.RECREATE):
            await self._jsm.delete_stream(step.stream)
        if step.op is Op.DELETE:
            return
        config = api.StreamConfig.from_response(_with_revision(step.config, revision))
        if step.op is Op.UPDATE:
            await self._jsm.update_stream(config)
        else:
            await self._jsm.add_stream(config)

    async def _consumer(self, step: Step, revision: str | None) -> None:
        if step.op in (Op.DELETE, Op.RECREATE):
            await self._jsm.delete_consumer(step.stream, step.durable)
        if step.op is Op.DELETE:
            return
        # The create request updates an existing durable in place when only updatable fields differ.
        config = api.ConsumerConfig.from_response(_with_revision(step.config, revision))
        await self._jsm.add_consumer(step.stream, config)
