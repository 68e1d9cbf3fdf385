"""The region loop: every `interval`, fetch the repository, then run one region pass (`apply_region`, the same
pass as `edgeops apply`) over the zones that are due, healing drift on every pass.

- A nudge (`nudge()`: a merge announced over NATS, see `nudges`) ends the wait at once: the loop fetches and
  passes within seconds instead of up to an interval later. Nudges during a pass coalesce into one follow-up
  pass (`wakeup.Wakeup`); passes never overlap; the interval stays the fallback when no nudge comes.

- Only the replica holding the region's Lease acts (`LeaderElector`); the Lease is renewed on its own timer and
  its own thread while a pass runs (never queued behind zone work in the shared worker pool), and a replica that
  cannot renew within its renew deadline stops writing at once (every write of the pass in flight is fenced),
  stops waiting on health and starts no further pass.
- A zone that is unreachable is retried with exponential backoff (interval × 2^(failures-1), capped) while the
  other zones keep their pace; it converges on the first pass after it returns.
- An invalid revision applies nothing anywhere; a repository that cannot be fetched keeps the last good commit; a
  branch tip not signed by a trusted key (when the fleet asks for signed commits) leaves the last verified commit
  applied, and every zone's result says so.
- `stop()` (SIGTERM/SIGINT in the CLI) ends the loop after the writes in flight: health waits are cut short,
  the Lease is released.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from reconciler.app.nats import NatsOptions
from reconciler.app.reconcile.leader import LeaderElector
from reconciler.app.reconcile.region import DesiredStateInvalid, RegionOptions
from reconciler.app.reconcile.regionpass import apply_region
from reconciler.app.reconcile.source import Fetched
from reconciler.app.reconcile.telemetry import LoopMetrics, PassSpans, Spans
from reconciler.app.reconcile.wakeup import Wake, Wakeup
from reconciler.core.load import LoadResult
from reconciler.core.nats import Nudge
from reconciler.core.plan import ZoneResult, ZoneStatus
from reconciler.shells.nats import NatsEndpoint

log = logging.getLogger("edgeops.reconcile")

AfterPass = Callable[[LoadResult, list[ZoneResult], datetime], object]  # each pass's load and zone results


def backoff_delay(failures: int, base_s: float, cap_s: float) -> float:
    """Seconds to wait after the `failures`-th failure in a row: base, 2×base, 4×base, ... up to cap."""
    if failures <= 0:
        return 0.0
    return float(min(cap_s, base_s * 2 ** min(failures - 1, 32)))


@dataclass
class ZoneBackoff:
    base_s: float
    cap_s: float
    failures: dict[str, int] = field(default_factory=dict)
    next_at: dict[str, float] = field(default_factory=dict)

    def due(self, zone: str, now: float) -> bool:
        return now >= self.next_at.get(zone, 0.0)

    def record(self, result: ZoneResult, now: float) -> None:
        if result.status is ZoneStatus.UNREACHABLE:
            count = self.failures.get(result.zone, 0) + 1
            self.failures[result.zone] = count
            self.next_at[result.zone] = now + backoff_delay(count, self.base_s, self.cap_s)
        else:
            self.failures.pop(result.zone, None)
            self.next_at.pop(result.zone, None)


@dataclass(frozen=True)
class LoopOptions:
    region: str
    interval_s: float = 30.0
    region_options: RegionOptions = field(default_factory=RegionOptions)
    backoff_base_s: float | None = None  # default: the interval
    backoff_cap_s: float = 300.0
    lease_retry_s: float = 2.0
    nats_hub: NatsEndpoint | None = None  # the region hub's client URL: also apply JetStream assets, by domain
    allow_stream_delete: bool = False
    drain_poll_s: float = 5.0  # while a retired track drains: the next pass comes this soon (at most the interval)

    @property
    def pass_options(self) -> RegionOptions:
        """What each pass runs with: `region_options`, with `nats_hub` (when set) as its NATS."""
        if self.nats_hub is None:
            return self.region_options
        nats = NatsOptions(self.nats_hub, allow_stream_delete=self.allow_stream_delete)
        return dataclasses.replace(self.region_options, nats=nats)


class RegionLoop:
    def __init__(
        self,
        fetch: Callable[[], Fetched],
        options: LoopOptions,
        elector: LeaderElector | None = None,
        *,
        metrics: LoopMetrics | None = None,
        clock: Callable[[], float] = time.monotonic,
        spans: Spans | None = None,
        after_pass: AfterPass | None = None,
    ) -> None:
        self._fetch = fetch
        self._after_pass = after_pass
        self.options = options
        self.elector = elector
        self.metrics = metrics or LoopMetrics(options.region)
        self._clock = clock
        self._spans = spans or Spans()
        self.backoff = ZoneBackoff(options.backoff_base_s or options.interval_s, options.backoff_cap_s)
        self.results: dict[str, ZoneResult] = {}
        self.passes = 0
        self.last_error: str | None = None
        self._stopping = threading.Event()
        self._wakeup: Wakeup | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._trigger = "start"  # why the next pass runs: start | interval | nudge (a metric label)
        self._draining = False  # the last pass left a retired track draining: come back soon
        # The Lease's own thread: zone work fills the default executor, and a renewal queued behind it could
        # miss the renew deadline while every zone is busy.
        self._lease_thread = ThreadPoolExecutor(1, thread_name_prefix=f"lease-{options.region}")

    # ------------------------------------------------------------------ control

    def stop(self) -> None:
        """Thread-safe (signal handlers, tests): finish the writes in flight, then return from `run`."""
        self._stopping.set()
        self._in_loop(lambda wakeup: wakeup.stop())

    def nudge(self, nudge: Nudge, via: str = "") -> None:
        """Thread-safe: fetch and pass now (after the pass in flight, if any). Counted and logged; a replica that
        is not leading keeps it pending and acts on leading (its first pass fetches anyway)."""
        self.metrics.nudges.labels(self.options.region, nudge.source.value).inc()
        log.info(
            "nudged",
            extra={
                "region": self.options.region,
                "source": nudge.source.value,
                "sha": nudge.sha,
                "why": nudge.why,
                "via": via,
                "leading": self.elector is None or self.elector.is_leader,
            },
        )
        self._in_loop(lambda wakeup: wakeup.nudge())

    def _in_loop(self, act: Callable[[Wakeup], None]) -> None:
        loop, wakeup = self._loop, self._wakeup
        if loop is None or wakeup is None:
            return  # not running: the first pass fetches anyway
        try:
            here = asyncio.get_running_loop() is loop
        except RuntimeError:
            here = False
        if here:
            act(wakeup)
        else:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nothing left to wake
                loop.call_soon_threadsafe(act, wakeup)

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def _must_stop_waiting(self) -> bool:
        return self.stopping or self._fenced()

    def _fenced(self) -> bool:
        """No more writes: the Lease could not be renewed within its deadline (graceful stops finish theirs)."""
        return self.elector is not None and not self.elector.is_leader

    # ------------------------------------------------------------------ running

    async def run(self, *, once: bool = False) -> None:
        self._loop, self._wakeup = asyncio.get_running_loop(), Wakeup()
        if self.stopping:
            self._wakeup.stop()
        try:
            while not self.stopping:
                if not await self._lead():
                    await self._sleep(self.options.lease_retry_s, nudges=False)
                    continue
                renewer = asyncio.create_task(self._keep_lease())
                try:
                    await self.run_pass()
                finally:
                    renewer.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await renewer
                if once:
                    break
                self._trigger = (await self._sleep(self.next_wait_s)).value
        finally:
            if self.elector is not None:
                await asyncio.get_running_loop().run_in_executor(self._lease_thread, self.elector.release)
                self.metrics.leader.labels(self.options.region).set(0)
            self._lease_thread.shutdown(wait=False)

    @property
    def next_wait_s(self) -> float:
        """The wait before the next pass: the interval, or `drain_poll_s` while a retired track drains."""
        if self._draining:
            return min(self.options.interval_s, self.options.drain_poll_s)
        return self.options.interval_s

    async def _lead(self) -> bool:
        if self.elector is None:
            return True
        loop = asyncio.get_running_loop()
        leading = await loop.run_in_executor(self._lease_thread, self.elector.try_acquire_or_renew)
        self.metrics.leader.labels(self.options.region).set(1 if leading else 0)
        return leading

    async def _keep_lease(self) -> None:
        while True:
            await asyncio.sleep(self.options.lease_retry_s)
            await self._lead()

    async def _sleep(self, seconds: float, *, nudges: bool = True) -> Wake:
        """Sleep, renewing the Lease meanwhile; a stop wakes it at once, and so does a nudge (`nudges`)."""
        assert self._wakeup is not None
        deadline = self._clock() + seconds
        while (left := deadline - self._clock()) > 0:
            step = min(left, self.options.lease_retry_s) if self.elector is not None else left
            woke = await self._wakeup.wait(step, nudges=nudges)
            if woke is not Wake.INTERVAL:
                return woke
            if self.elector is not None:
                await self._lead()
        return Wake.INTERVAL

    async def run_pass(self) -> list[ZoneResult]:
        """One region pass (`apply_region`, as `edgeops apply` runs it) over the zones that are due; zones in
        backoff keep their last result."""
        started = self._clock()
        region = self.options.region
        if self._wakeup is not None:
            self._wakeup.begin_pass()  # this fetch sees every commit announced so far
        trigger, self._trigger = self._trigger, "interval"
        fetched = await asyncio.to_thread(self._fetch)
        self.metrics.stale.labels(region).set(0 if fetched.fresh else 1)
        self.metrics.record_refusal(fetched.refusal)
        if fetched.load is None:
            self.last_error = f"nothing to reconcile yet: {fetched.error}"
            log.error("repository unreadable", extra={"region": region, "error": fetched.error})
            return []
        now = self._clock()
        try:
            with self._spans.span(
                "reconcile pass", **{"edgeops.region": region, "edgeops.revision": fetched.revision or ""}
            ):
                done = await apply_region(
                    fetched.load,
                    region,
                    self.options.pass_options,
                    only=lambda zone: self.backoff.due(zone, now),
                    observer=PassSpans(self._spans, region),
                    stopping=self._must_stop_waiting,
                    history=fetched.history,
                    fenced=self._fenced,
                )
        except DesiredStateInvalid as error:
            self.last_error = str(error)
            log.error(
                "desired state invalid: nothing applied",
                extra={"region": region, "revision": fetched.revision, "error": str(error)},
            )
            return []
        self.last_error = None
        self._draining = done.draining
        finished = self._clock()
        zones = [fetched.noted(result) for result in done.zones]
        for result in zones:
            self.backoff.record(result, finished)
            self.results[result.zone] = result
            self.metrics.record(result)
            self._log(result)
        self._hook(fetched.load, zones)
        if done.hub is not None:
            log.log(
                logging.WARNING if done.hub.degraded else logging.INFO,
                "hub streams reconciled",
                extra={"region": region, "status": done.hub.status.value, "detail": done.hub.error},
            )
        self.metrics.pass_duration.labels(region).observe(finished - started)
        self.metrics.passes.labels(region, trigger).inc()
        self.passes += 1
        return zones

    def _hook(self, load: LoadResult, zones: list[ZoneResult]) -> None:
        """The pass's results to `after_pass` (notifications); its failure is logged, never the pass's."""
        if self._after_pass is None:
            return
        try:
            self._after_pass(load, zones, datetime.now(UTC))
        except Exception:
            log.exception("after-pass hook failed", extra={"region": self.options.region})

    def _log(self, result: ZoneResult) -> None:
        level = logging.INFO if result.status in (ZoneStatus.SYNCED, ZoneStatus.PROGRESSING) else logging.WARNING
        log.log(
            level,
            "zone reconciled",
            extra={
                "region": self.options.region,
                "zone": result.zone,
                "status": result.status.value,
                "revision": result.revision,
                "applied": result.applied,
                "pruned": result.pruned,
                "drift": result.drift,
                "detail": result.message,
            },
        )
