"""A continuous pull from a JetStream durable consumer: pull requests stay open while a batch is scored.

nats-py's `fetch` sends one pull request per batch and waits for its reply, so every batch pays a round trip to
the server, and a record that arrives while a batch is being scored waits in the stream until the next request.
Here pull requests are kept open ahead of need (the way JetStream's own clients consume): the server pushes each
record to the runtime's inbox the moment it is stored, and a batch is whatever has arrived by the time the last one
is done. What is asked for and not yet taken stays under `4 x batch` records (a request of `2 x batch` goes out
while less than that is owed or waiting), so the local buffer is bounded however much the stream holds.

Credit accounting: the server fills open requests oldest first, so each record takes one from the oldest; a
request ends when its batch is filled, when it expires (status 408, or its deadline passed without one: a server
restart forgets it), or on a 409 (consumer deleted, leadership change, too many waiting requests...), which ends
them all. A reconnect ends them all too. Heartbeats and other statuses are ignored.

Stopping: `close()` stops asking for more and keeps receiving until the open requests are filled or expired (at
most `expires_s`), so nothing already handed to this process is left to time out on the server (`ack_wait`) while
it shuts down; records delivered then are returned by `take` like any others. A fenced owner (its partition's
lease lost) calls `abandon()` instead: it must not score anything more, and the server redelivers after `ack_wait`.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import time
from typing import Any

log = logging.getLogger("edgeops.runtime.nats")

MAX_REQUESTS = 3
RETRY_AFTER_409_S = 0.5


class PullPump:
    def __init__(self, nc: Any, stream: str, durable: str, *, batch: int, expires_s: float = 1.0) -> None:
        self.nc = nc
        self.batch = batch
        self.expires_s = expires_s
        self.subject = f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}"
        self.inbox = ""
        # Delivered, not yet taken: [message, when it arrived or was last marked in progress (monotonic s)].
        self.buffer: collections.deque[list[Any]] = collections.deque()
        self.arrived = asyncio.Event()
        # Open requests, oldest first: [records still owed, deadline (monotonic s)].
        self.requests: collections.deque[list[float]] = collections.deque()
        self.closing = False
        self._sub: Any = None
        self._reconnects = 0
        self._quiet_until = 0.0  # after a 409: wait before asking again

    async def open(self) -> None:
        self.inbox = self.nc.new_inbox()
        self._sub = await self.nc.subscribe(self.inbox, cb=self._on_message)
        self._reconnects = self._reconnect_count()

    async def _on_message(self, msg: Any) -> None:
        headers = msg.headers
        status = headers.get("Status") if headers and not msg.data else None
        if status is None:
            if self.requests:
                self.requests[0][0] -= 1
                if self.requests[0][0] <= 0:
                    self.requests.popleft()
            self.buffer.append([msg, time.monotonic()])
        elif status == "408":  # the oldest request expired
            if self.requests:
                self.requests.popleft()
        elif status == "409":
            log.warning("pull %s: %s; asking again", self.subject, headers.get("Description", "409"))
            self.requests.clear()
            self._quiet_until = time.monotonic() + RETRY_AFTER_409_S
        else:  # 100 (heartbeat, flow control), 404 (only for no_wait requests, never sent here)
            return
        self.arrived.set()

    def _reconnect_count(self) -> int:
        stats = getattr(self.nc, "stats", None)
        return int(stats.get("reconnects", 0)) if isinstance(stats, dict) else 0

    def _expire(self, now: float) -> None:
        reconnects = self._reconnect_count()
        if reconnects != self._reconnects:  # the server may have restarted: its waiting requests are gone
            self._reconnects = reconnects
            self.requests.clear()
        while self.requests and self.requests[0][1] < now:
            self.requests.popleft()

    @property
    def max_buffered(self) -> int:
        return 4 * self.batch

    async def top_up(self) -> None:
        """Keep two batches asked for or waiting to be taken (never more than MAX_REQUESTS requests open)."""
        now = time.monotonic()
        self._expire(now)
        if self.closing or now < self._quiet_until or len(self.requests) >= MAX_REQUESTS:
            return
        size = 2 * self.batch
        if sum(owed for owed, _ in self.requests) + len(self.buffer) >= size:
            return
        # A request lives `expires_s` on the server; its deadline here allows for a late 408.
        self.requests.append([size, now + self.expires_s + 0.5])
        body = json.dumps({"batch": size, "expires": int(self.expires_s * 1e9)}).encode()
        try:
            await self.nc.publish(self.subject, body, reply=self.inbox)
        except Exception as exc:  # connection closed or draining: nothing was asked
            self.requests.pop()
            log.debug("pull request: %r", exc)

    async def take(self, limit: int, wait_s: float) -> list[Any]:
        """Up to `limit` records: those already here, else the first to arrive within `wait_s` (and any with it)."""
        await self.top_up()
        if not self.buffer:
            self.arrived.clear()
            try:
                async with asyncio.timeout(wait_s):  # not `wait_for`: no task per wait on the hot path
                    await self.arrived.wait()
            except TimeoutError:
                return []
        taken: list[Any] = []
        while self.buffer and len(taken) < limit:
            taken.append(self.buffer.popleft()[0])
        if taken:
            await self.top_up()
        return taken

    async def linger(self, room: int, wait_s: float) -> list[Any]:
        """Wait up to `wait_s` for up to `room` more records (a batch half full fills up for a moment)."""
        deadline = time.monotonic() + wait_s
        taken: list[Any] = []
        while len(taken) < room:
            while self.buffer and len(taken) < room:
                taken.append(self.buffer.popleft()[0])
            left = deadline - time.monotonic()
            if len(taken) >= room or left <= 0:
                break
            self.arrived.clear()
            try:
                async with asyncio.timeout(left):
                    await self.arrived.wait()
            except TimeoutError:
                break
        return taken

    def waiting_since(self, before: float, now: float) -> list[Any]:
        """Records waiting here since before `before` (while a model outage holds the batch in progress); each
        counts as waiting from `now` on. The source marks them in progress, so the server neither redelivers them
        nor counts a delivery."""
        stale = []
        for entry in self.buffer:
            if entry[1] < before:
                entry[1] = now
                stale.append(entry[0])
        return stale

    @property
    def draining(self) -> bool:
        """While closing: records may still arrive for the requests left open."""
        self._expire(time.monotonic())
        return bool(self.requests or self.buffer)

    def close(self) -> None:
        """Ask for nothing more; `take` keeps returning what the open requests still deliver."""
        self.closing = True

    async def abandon(self) -> None:
        """Stop receiving now; what was delivered and not taken is redelivered by the server after `ack_wait`."""
        self.closing = True
        self.requests.clear()
        self.buffer.clear()
        await self.unsubscribe()

    async def unsubscribe(self) -> None:
        if self._sub is not None:
            sub, self._sub = self._sub, None
            try:
                await sub.unsubscribe()
            except Exception as exc:  # the connection is closing anyway
                log.debug("unsubscribe %s: %r", self.inbox, exc)
