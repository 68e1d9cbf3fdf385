"""The status table as text (`edgeops status`) and as JSON (`--format json`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from reconciler.core.fleetview.rows import ModelRow, ZoneRow


def _short(revision: str | None) -> str:
    return (revision or "-")[:12]


def _when(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "-"
    seconds = int((now - moment).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{max(seconds, 0)}s ago"


def model_text(model: ModelRow, now: datetime) -> str:
    stable = f"{model.model} {model.stable_version} {model.stable_digest[:19]}"
    canary = ""
    if model.canary_version is not None:
        canary = (
            f" | canary {model.canary_version} {(model.canary_digest or '')[:19]} {model.canary_phase}"
            f" {model.canary_weight}% for {_when(model.at_weight_since, now).removesuffix(' ago')}"
        )
    return f"{stable}{canary} | pull {model.pull}"


def format_text(rows: Sequence[ZoneRow], now: datetime) -> str:
    lines = []
    for row in rows:
        reach = "reachable" if row.reachable else "unreachable"
        sync = "at head" if row.in_sync else f"head {_short(row.head)}"
        flags = " STALE" if row.stale else ""
        flags += " paused" if row.paused else ""
        lines.append(
            f"{row.zone:<16} {row.status:<12} {reach} since {_when(row.since, now)}  "
            f"@{_short(row.applied)} ({sync})  last contact {_when(row.last_contact, now)}{flags}"
        )
        if row.reason:
            lines.append(f"    reason: {row.reason}")
        lines.extend(f"    {model_text(m, now)}" for m in row.models)
    return "\n".join(lines)


def format_json(rows: Sequence[ZoneRow]) -> str:
    return json.dumps([row.to_json() for row in rows], indent=2, sort_keys=True)
