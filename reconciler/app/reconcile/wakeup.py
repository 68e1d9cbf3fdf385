"""What ends the region loop's wait between passes: the interval running out, a nudge, or a stop.

Nudges coalesce. Any number of `nudge()` calls while a pass runs leave one wake-up pending, so a burst gives
exactly one follow-up pass; `begin_pass()` clears it just before the pass fetches, because that fetch already
sees every commit those nudges announced. A stop wins over a pending nudge.

    wakeup = Wakeup()
    wakeup.begin_pass(); ...fetch, pass...
    match await wakeup.wait(interval_s):  # Wake.NUDGE at once if nudged meanwhile
        case Wake.STOP: ...

Not thread-safe: call it from the event loop it waits in (`RegionLoop.nudge` hops threads for its callers).
"""

from __future__ import annotations

import asyncio
import contextlib
from enum import StrEnum


class Wake(StrEnum):
    NUDGE = "nudge"
    INTERVAL = "interval"
    STOP = "stop"


class Wakeup:
    def __init__(self) -> None:
        self._pending = 0  # nudges since the last begin_pass
        self._stopped = False
        self._changed = asyncio.Event()

    @property
    def pending(self) -> int:
        return self._pending

    def nudge(self) -> None:
        self._pending += 1
        self._changed.set()

    def stop(self) -> None:
        self._stopped = True
        self._changed.set()

    def begin_pass(self) -> int:
        """A pass is about to fetch: the nudges so far are served by it. Returns how many there were."""
        served, self._pending = self._pending, 0
        return served

    async def wait(self, timeout_s: float, *, nudges: bool = True) -> Wake:
        """Wait up to `timeout_s`; a stop ends it at once, and so does a nudge (pending or new) unless `nudges`
        is False (a replica that is not leading has no pass to start; its nudges stay pending)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            if self._stopped:
                return Wake.STOP
            if nudges and self._pending:
                return Wake.NUDGE
            left = deadline - loop.time()
            if left <= 0:
                return Wake.INTERVAL
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=left)
