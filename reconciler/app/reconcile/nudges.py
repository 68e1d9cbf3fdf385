"""The region loop's ear on the hub: subscribe to the region's nudge subjects and nudge the loop on each message.

The subscription runs beside the loop and never holds it up: while the hub is down (at start or later) the loop
keeps polling at its interval, and the connection retries for as long as it takes; nats-py resubscribes when it
is back. Any message body nudges: its fields (commit, why, who) are only logged and counted.

    listener = NudgeListener(hub_endpoint, loop)
    listener.start()            # returns at once; `await listener.ready.wait()` once subscribed
    ...
    await listener.close()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from reconciler.app.reconcile.loop import RegionLoop
from reconciler.core.nats import decode_nudge, nudge_subjects
from reconciler.shells.nats import NatsClient, NatsEndpoint, NatsError, NatsMessage, Reconnect

log = logging.getLogger("edgeops.reconcile")


class NudgeListener:
    def __init__(self, endpoint: NatsEndpoint, loop: RegionLoop) -> None:
        self.endpoint = endpoint
        self.subjects = nudge_subjects(loop.options.region)
        self.ready = asyncio.Event()
        self._loop = loop
        self._client: NatsClient | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="nudge listener")

    async def _listen(self) -> None:
        try:
            self._client = await NatsClient.connect(self.endpoint, Reconnect.FOREVER, name="edgeops-reconciler")
            for subject in self.subjects:
                await self._client.subscribe(subject, self._deliver)
            await self._client.flush()
        except NatsError as error:  # e.g. refused credentials: say so; polling goes on
            log.error(
                "not listening for nudges: the interval alone drives passes",
                extra={"region": self._loop.options.region, "error": str(error)},
            )
            return
        log.info(
            "listening for nudges",
            extra={"region": self._loop.options.region, "subjects": list(self.subjects), "hub": self.endpoint.url},
        )
        self.ready.set()

    async def _deliver(self, message: NatsMessage) -> None:
        self._loop.nudge(decode_nudge(message.data), via=message.subject)

    async def close(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()  # still waiting for the hub
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._client is not None:
            await self._client.close()
