"""Where events come from: the region loop's passes (zone status episodes, and, with Prometheus, failed model
pulls) and the canary controller's outcomes (rollbacks and promotions it proposed or merged)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from reconciler.app.canary import CanaryOutcome
from reconciler.app.fleetview import read_runtime
from reconciler.app.notify.notifier import Notifier
from reconciler.core.canary import Decision
from reconciler.core.load import LoadResult
from reconciler.core.notify import Event, ZoneEpisodes, canary_ended, pull_failed
from reconciler.core.plan import ZoneResult
from reconciler.shells.prometheus import Prometheus, PrometheusError

log = logging.getLogger("edgeops.notify")


class ZoneWatch:
    """The region loop's hook (`after_pass`): zone episodes over passes, failed pulls from Prometheus."""

    def __init__(self, notifier: Notifier, *, prometheus: str | None = None) -> None:
        self.notifier = notifier
        self.region = notifier.region
        self._prometheus = Prometheus(prometheus, timeout=5.0) if prometheus else None
        self._episodes: ZoneEpisodes | None = None

    def after_pass(self, load: LoadResult, zones: Sequence[ZoneResult], now: datetime) -> list[Event]:
        if load.spec is None:
            return []
        config = load.spec.fleet.spec.notifications
        if self._episodes is None or self._episodes.after != config.zone_after:
            self._episodes = ZoneEpisodes(self.region, config.zone_after)
        events = self._episodes.observe(((z.zone, z.status.value, z.message) for z in zones), now)
        if self._prometheus is not None and config.targets:
            try:
                readings = read_runtime(self._prometheus, [z.zone for z in zones], now)
            except PrometheusError as error:
                log.warning("model pulls not read", extra={"region": self.region, "error": str(error)})
            else:
                for zone, reading in sorted(readings.items()):
                    for model, pull in sorted(reading.pulls.items()):
                        if pull.failures > 0:
                            events.append(pull_failed(self.region, zone, model, pull.last_success, now))
        self.notifier.send(config, events)
        return events


def canary_events(region: str, outcomes: Sequence[CanaryOutcome], now: datetime) -> list[Event]:
    """A rollback or promotion pull request (opened or merged) is an event; holds and steps are not."""
    events = []
    for outcome in outcomes:
        analysis, proposal = outcome.analysis, outcome.proposal
        if analysis is None or proposal is None:
            continue
        decision = analysis.verdict.decision
        if decision not in (Decision.ROLLBACK, Decision.PROMOTE):
            continue
        group = outcome.group
        events.append(
            canary_ended(
                region,
                decision=decision.value,
                model=group.model,
                version=group.version,
                zones=group.zones,
                pull=proposal.pull.number,
                url=proposal.pull.url,
                merged=proposal.merged,
                reason=analysis.verdict.reason,
                now=now,
            )
        )
    return events
