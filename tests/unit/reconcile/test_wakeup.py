"""The region loop's wake-up: nudges coalesce, wake a sleeping loop at once, and never outrank a stop.

Matrix: a burst of nudges during a pass gives one wake-up, then the interval again; a nudge during the wait ends
it at once; nudges before a pass's fetch are served by that pass; a stop wins over pending nudges; a replica
that is not leading ignores nudges but keeps them pending; any sequence of nudges and passes wakes the loop
exactly when a nudge came after the last pass began. The `RegionLoop` on top (with a counting fetch and no
zones): a nudge during its 300 s sleep starts a fetch at once, 20 nudges during a fetch give exactly one more,
nudges from another thread arrive, and an unstarted loop takes a nudge harmlessly.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.app.reconcile.loop import LoopOptions, RegionLoop
from reconciler.app.reconcile.source import Fetched
from reconciler.app.reconcile.wakeup import Wake, Wakeup
from reconciler.core.nats import Nudge, NudgeSource, decode_nudge

pytestmark = pytest.mark.unit
LONG = 300.0  # an interval no test may wait out


async def test_a_burst_of_nudges_gives_one_wake_up() -> None:
    wakeup = Wakeup()
    wakeup.begin_pass()
    for _ in range(20):
        wakeup.nudge()
    assert await wakeup.wait(LONG) is Wake.NUDGE
    assert wakeup.begin_pass() == 20
    assert await wakeup.wait(0.01) is Wake.INTERVAL


async def test_a_nudge_during_the_wait_ends_it_at_once() -> None:
    wakeup = Wakeup()
    loop = asyncio.get_running_loop()
    started = loop.time()
    loop.call_later(0.05, wakeup.nudge)
    assert await wakeup.wait(LONG) is Wake.NUDGE
    assert loop.time() - started < 5


async def test_nudges_before_the_fetch_are_served_by_that_pass() -> None:
    wakeup = Wakeup()
    wakeup.nudge()
    wakeup.nudge()
    assert wakeup.begin_pass() == 2
    assert wakeup.pending == 0
    assert await wakeup.wait(0.01) is Wake.INTERVAL


async def test_a_stop_wins_over_pending_nudges() -> None:
    wakeup = Wakeup()
    wakeup.nudge()
    wakeup.stop()
    assert await wakeup.wait(LONG) is Wake.STOP
    asyncio.get_running_loop().call_later(0.05, wakeup.nudge)
    assert await wakeup.wait(LONG) is Wake.STOP


async def test_a_stop_during_the_wait_ends_it() -> None:
    wakeup = Wakeup()
    asyncio.get_running_loop().call_later(0.05, wakeup.stop)
    assert await wakeup.wait(LONG) is Wake.STOP


async def test_without_nudges_the_wait_runs_its_course_and_keeps_them_pending() -> None:
    wakeup = Wakeup()
    wakeup.nudge()
    asyncio.get_running_loop().call_later(0.01, wakeup.nudge)
    assert await wakeup.wait(0.1, nudges=False) is Wake.INTERVAL
    assert wakeup.pending == 2
    assert await wakeup.wait(LONG) is Wake.NUDGE


@given(st.lists(st.sampled_from(["nudge", "pass"]), max_size=40))
def test_the_loop_wakes_exactly_when_a_nudge_came_after_the_last_pass_began(events: list[str]) -> None:
    async def run() -> Wake:
        wakeup = Wakeup()
        for event in events:
            wakeup.nudge() if event == "nudge" else wakeup.begin_pass()
        return await wakeup.wait(0)

    after_last_pass = events[len(events) - events[::-1].index("pass") :] if "pass" in events else events
    expected = Wake.NUDGE if "nudge" in after_last_pass else Wake.INTERVAL
    assert asyncio.run(run()) is expected


# ---------------------------------------------------------------- the loop on top


class CountingFetch:
    """A repository that never loads (so a pass stops after its fetch): counts fetches, and can hold one."""

    def __init__(self) -> None:
        self.calls = 0
        self.hold = threading.Event()
        self.hold.set()
        self.entered = threading.Event()

    def __call__(self) -> Fetched:
        self.calls += 1
        self.entered.set()
        self.hold.wait(timeout=30)
        return Fetched(None, None, fresh=False, error="no repository in this test")


def _loop(fetch: CountingFetch) -> RegionLoop:
    return RegionLoop(fetch, LoopOptions(region="eu", interval_s=LONG))


def _nudges(loop: RegionLoop, source: str) -> float | None:
    return loop.metrics.registry.get_sample_value("edgeops_reconcile_nudges_total", {"region": "eu", "source": source})


async def _until(predicate: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached"
        await asyncio.sleep(0.01)


async def test_a_nudge_during_the_sleep_starts_a_fetch_at_once() -> None:
    fetch = CountingFetch()
    loop = _loop(fetch)
    running = asyncio.create_task(loop.run())
    await _until(lambda: fetch.calls == 1)
    await asyncio.sleep(0.05)
    loop.nudge(decode_nudge(b"\xff not json"), via="test")
    await _until(lambda: fetch.calls == 2)
    loop.stop()
    await asyncio.wait_for(running, 10)
    assert fetch.calls == 2
    assert _nudges(loop, "other") == 1


async def test_twenty_nudges_during_a_fetch_give_exactly_one_more() -> None:
    fetch = CountingFetch()
    fetch.hold.clear()
    loop = _loop(fetch)
    running = asyncio.create_task(loop.run())
    await asyncio.to_thread(fetch.entered.wait, 10)
    for _ in range(20):
        loop.nudge(Nudge(why="burst", source=NudgeSource.WEBHOOK))
    fetch.hold.set()
    await _until(lambda: fetch.calls == 2)
    await asyncio.sleep(0.2)  # time for a wrongly queued third fetch to show
    loop.stop()
    await asyncio.wait_for(running, 10)
    assert fetch.calls == 2
    assert _nudges(loop, "webhook") == 20


async def test_a_nudge_from_another_thread_arrives() -> None:
    fetch = CountingFetch()
    loop = _loop(fetch)
    running = asyncio.create_task(loop.run())
    await _until(lambda: fetch.calls == 1)
    await asyncio.to_thread(loop.nudge, Nudge(source=NudgeSource.MANUAL))
    await _until(lambda: fetch.calls == 2)
    loop.stop()
    await asyncio.wait_for(running, 10)


def test_a_loop_not_running_takes_a_nudge_harmlessly() -> None:
    loop = _loop(CountingFetch())
    loop.nudge(Nudge())
    assert _nudges(loop, "other") == 1
