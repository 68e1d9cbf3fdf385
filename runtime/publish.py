"""Publishing results and dead letters to JetStream, for every source: `Nats-Msg-Id` makes a retry safe.

A batch's messages are handed to the connection at once (the latency path) and their JetStream acks awaited
together; a failed or timed-out publish is sent again with the same `Nats-Msg-Id`, so a retry after a lost ack
is deduplicated by the result stream, never duplicated (rule 1 in `runtime.sources.jetstream`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from runtime.pipeline import Outgoing

log = logging.getLogger("edgeops.runtime.nats")

PUBLISH_TIMEOUT_S = 5.0


class Publisher:
    """Publishes a batch's outgoing messages and waits for every JetStream ack, retrying failures with the
    same Nats-Msg-Id (so a retry after a lost ack is deduplicated, not duplicated)."""

    def __init__(self, js: Any, stopping: asyncio.Event) -> None:
        self.js = js
        self.stopping = stopping

    async def send(self, items: list[Outgoing]) -> list[asyncio.Future[Any]]:
        """Hand every message to the connection now (the latency path); the acks come later."""
        futures = []
        for item in items:
            try:
                futures.append(await self.js.publish_async(item.subject, item.payload, headers=item.headers))
            except Exception as exc:  # connection closed/stalled: retried by `confirm`
                futures.append(_failed(exc))
        return futures

    async def confirm(self, items: list[Outgoing], futures: list[asyncio.Future[Any]]) -> bool:
        """Wait for every JetStream ack, re-sending failures; True when all were acknowledged, False if
        shutdown interrupted the retries."""
        pending = items
        delay = 0.05
        while pending:
            # One wait for the whole batch; a future still open at the deadline counts as failed (the server
            # may have restarted and lost the reply) and is cancelled, releasing its publish slot.
            _, late = await asyncio.wait(futures, timeout=PUBLISH_TIMEOUT_S)
            for future in late:
                future.cancel()
            failed = [item for item, f in zip(pending, futures, strict=True) if f.cancelled() or f.exception()]
            if failed:
                first = next(f for f in futures if f.cancelled() or f.exception())
                reason = "timeout" if first.cancelled() else type(first.exception()).__name__
                log.warning("publish: %d of %d not acknowledged (%s); retrying", len(failed), len(pending), reason)
                if self.stopping.is_set() and delay > 1.0:
                    return False
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
                futures = await self.send(failed)
            pending = failed
        return True

    async def publish_all(self, items: list[Outgoing]) -> bool:
        return await self.confirm(items, await self.send(items))


def _failed(exc: Exception) -> asyncio.Future[Any]:
    future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    future.set_exception(exc)
    return future
