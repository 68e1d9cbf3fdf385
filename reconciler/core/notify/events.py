"""What is announced, and when: each event has a stable `key` naming its identity (a zone's status episode, a pull
request, a model's pull-failure episode), so a pass that sees the same thing again announces nothing new.

    episodes = ZoneEpisodes("eu-west", after=timedelta(minutes=5))
    events = episodes.observe([("ams-01", "Degraded", "0/2 available")], now)   # [] until 5 min have passed
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from reconciler.core.spec import EVENTS

SEVERITIES = ("info", "warning", "critical")
ZONE_EVENTS = {"Degraded": "zone-degraded", "Unreachable": "zone-unreachable"}


@dataclass(frozen=True)
class Event:
    kind: str  # one of spec.EVENTS
    severity: str  # one of SEVERITIES
    key: str  # the event's identity: equal keys are one event
    region: str
    subject: str  # the zone, or the model and version
    title: str
    at: datetime
    data: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in EVENTS or self.severity not in SEVERITIES:
            raise ValueError(f"unknown event kind {self.kind!r} or severity {self.severity!r}")

    @property
    def id(self) -> str:
        """A stable id from the key: a consumer may deduplicate on it too."""
        return hashlib.sha256(self.key.encode()).hexdigest()[:32]

    def at_least(self, severity: str) -> bool:
        return SEVERITIES.index(self.severity) >= SEVERITIES.index(severity)


@dataclass
class _Episode:
    status: str
    since: datetime
    announced: bool = False


class ZoneEpisodes:
    """A zone's episode in Degraded or Unreachable starts at the first pass that sees it; it is announced once,
    when it has lasted `after`; a pass that sees the zone in another status ends it."""

    def __init__(self, region: str, after: timedelta) -> None:
        self.region = region
        self.after = after
        self._open: dict[str, _Episode] = {}

    def observe(self, statuses: Iterable[tuple[str, str, str]], now: datetime) -> list[Event]:
        """`statuses`: (zone, status, reason) of the zones a pass visited (zones not visited keep their episode)."""
        events = []
        for zone, status, reason in statuses:
            kind = ZONE_EVENTS.get(status)
            episode = self._open.get(zone)
            if kind is None:
                self._open.pop(zone, None)
                continue
            if episode is None or episode.status != status:
                episode = self._open[zone] = _Episode(status, now)
            if not episode.announced and now - episode.since >= self.after:
                episode.announced = True
                minutes = int((now - episode.since).total_seconds() // 60)
                events.append(
                    Event(
                        kind=kind,
                        severity="critical" if status == "Unreachable" else "warning",
                        key=f"{kind}:{self.region}/{zone}:{episode.since.isoformat()}",
                        region=self.region,
                        subject=zone,
                        title=f"zone {zone} in {self.region} {status} for {minutes} min",
                        at=now,
                        data={"zone": zone, "status": status, "reason": reason, "since": episode.since.isoformat()},
                    )
                )
        return events


def pull_failed(region: str, zone: str, model: str, last_success: datetime | None, now: datetime) -> Event:
    """A model's pulls fail in a zone; one event per failure episode (until the next successful pull)."""
    since = last_success.isoformat() if last_success else "never"
    return Event(
        kind="model-pull-failed",
        severity="warning",
        key=f"model-pull-failed:{region}/{zone}/{model}:{since}",
        region=region,
        subject=f"{zone}/{model}",
        title=f"model {model} cannot be pulled in {zone} ({region}); the previous model keeps serving",
        at=now,
        data={"zone": zone, "model": model, "last_success": None if last_success is None else since},
    )


def canary_ended(
    region: str,
    *,
    decision: str,
    model: str,
    version: str,
    zones: Iterable[str],
    pull: int,
    url: str,
    merged: bool,
    reason: str,
    now: datetime,
) -> Event:
    """A rollback or promotion the canary controller proposed (and perhaps merged): one event per pull request."""
    kind = "rollback" if decision == "rollback" else "promotion"
    state = "merged" if merged else "proposed"
    return Event(
        kind=kind,
        severity="critical" if kind == "rollback" else "info",
        key=f"{kind}:{region}:#{pull}:{state}",
        region=region,
        subject=f"{model}/{version}",
        title=f"{kind} of {model} {version} in {', '.join(zones)} ({region}) {state}: #{pull}",
        at=now,
        data={
            "model": model,
            "version": version,
            "zones": list(zones),
            "pull_request": pull,
            "url": url,
            "merged": merged,
            "reason": reason,
        },
    )


class Seen:
    """The keys already announced, newest last, bounded so a long-running loop does not grow without end."""

    def __init__(self, limit: int = 10_000) -> None:
        self._keys: OrderedDict[str, None] = OrderedDict()
        self._limit = limit

    def first_time(self, key: str) -> bool:
        if key in self._keys:
            self._keys.move_to_end(key)
            return False
        self._keys[key] = None
        while len(self._keys) > self._limit:
            self._keys.popitem(last=False)
        return True
