"""Maintenance windows: whether a moment lies inside one (rollouts start only inside; rollbacks never wait)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from reconciler.core.spec import MaintenanceWindow

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def inside_window(windows: Iterable[MaintenanceWindow], now: datetime) -> bool:
    """True when `now` (timezone-aware) lies in any window; no windows at all means "always allowed"."""
    windows = tuple(windows)
    if not windows:
        return True
    if now.tzinfo is None:
        raise ValueError("inside_window needs a timezone-aware time")
    return any(_inside(window, now) for window in windows)


def _inside(window: MaintenanceWindow, now: datetime) -> bool:
    local = now.astimezone(ZoneInfo(window.timezone))
    hour, minute = (int(part) for part in window.start.split(":"))
    # A window that started yesterday (or up to a week ago) may still be open: check each candidate start day.
    for days_back in range(8):
        day = local - timedelta(days=days_back)
        if _DAYS[day.weekday()] not in window.days:
            continue
        start = day.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if start <= local < start + window.duration:
            return True
    return False
