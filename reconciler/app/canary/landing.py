"""When a canary's current step reached the base branch. A step's `stepStartedAt` is written when the step is
proposed; with `promotion: review` it may be merged much later, and traffic until then ran at the previous weight.
The bake is therefore measured from the later of the two: the stamp, and the time of the commit that brought this
very step (version, phase, weight, stamp) to the branch — the merge.

    group = baked_from_landing(bot.workspace, "origin/main", spec, group)
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from reconciler.core.canary import CanaryGroup, ZoneFileError, parse_zone
from reconciler.core.spec import Canary, FleetSpec
from reconciler.shells.git import Workspace

HISTORY_LIMIT = 500  # commits walked back per zone file; a step older than that is taken at its stamp


def _step(canary: Canary | None) -> tuple[object, ...] | None:
    if canary is None:
        return None
    return (canary.version, canary.phase, canary.weight, canary.step_started)


def _step_in(path: str, text: str | None, model: str) -> tuple[object, ...] | None:
    try:
        assignment = parse_zone(path, text).assignment(model) if text is not None else None
    except ZoneFileError:
        return None
    return _step(assignment.canary if assignment is not None else None)


def landed_at(ws: Workspace, rev: str, path: str, model: str) -> datetime | None:
    """The time of the oldest commit in the unbroken run, from `rev` back, whose `path` holds the canary step that
    `rev` holds; None when `rev` has no canary there or the run reaches past `HISTORY_LIMIT` commits."""
    current: tuple[object, ...] | None = None
    landed, seen = None, None
    for index, (when, text) in enumerate(ws.file_history(rev, path, HISTORY_LIMIT + 1)):
        if index == 0 or text != seen:  # most commits leave the zone file as it was: parse it only when it changed
            step, seen = _step_in(path, text, model), text
        if index == 0:
            current = step
            if current is None:
                return None
        elif step != current:
            return landed
        if index == HISTORY_LIMIT:
            return None
        landed = when
    return landed  # the step has been there since the first commit


def baked_from_landing(ws: Workspace, rev: str, spec: FleetSpec, group: CanaryGroup) -> CanaryGroup:
    """The group with its step taken to start when it landed on `rev`'s branch, where that is later than its stamp
    (the latest landing of the wave's zones counts: a bake is never shortened by a zone that moved earlier)."""
    times = []
    for name in group.zones:
        zone = spec.zone(name)
        if zone is not None:
            landed = landed_at(ws, rev, f"zones/{zone.spec.region}/{name}.yaml", group.model)
            if landed is not None:
                times.append(landed)
    latest = max(times, default=None)
    if latest is None or latest <= group.canary.step_started:
        return group
    return dataclasses.replace(group, canary=group.canary.model_copy(update={"step_started_at": latest}))
