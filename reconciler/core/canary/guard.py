"""The merge guardrail: the bot merges a pull request only when its change touches nothing but canary fields of
zone files. Decided by loading both versions of every changed file and comparing the documents, not by path.

Allowed per zone file: any change to `spec.models[*].canary` (step, phase, removal) and, on promotion, the
stable `version` becoming the version the base's canary was running (with the canary removed).

Both versions are read exactly as the loader reads them (`zonedoc.read_zone`): a head that turns `replicas: 10`
into `replicas: 010` changes the replicas to 8, and is refused, because 8 is what would be applied.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.core.canary.zonedoc import ZoneFileError, parse_zone
from reconciler.core.spec import Zone


def _normalized(zone: Zone, promoted: Mapping[str, str]) -> dict[str, Any]:
    data = zone.model_dump(mode="json")
    for assignment in data["spec"]["models"]:
        assignment.pop("canary", None)
        if assignment["model"] in promoted:
            assignment["version"] = promoted[assignment["model"]]
    return data


def canary_only_problems(changes: Mapping[str, tuple[str | bytes | None, str | bytes | None]]) -> tuple[str, ...]:
    """Why a change set is NOT canary-only (empty tuple: it is). `changes` maps each changed path to
    (base text, head text), None where the file does not exist on that side."""
    problems: list[str] = []
    for path, (before, after) in sorted(changes.items()):
        if not (path.startswith("zones/") and path.endswith((".yaml", ".yml"))):
            problems.append(f"{path}: not a zone file")
            continue
        if before is None or after is None:
            problems.append(f"{path}: zone file {'added' if before is None else 'deleted'}")
            continue
        try:
            base, head = parse_zone(path, before), parse_zone(path, after)
        except ZoneFileError as error:
            problems.append(str(error))
            continue
        promoted: dict[str, str] = {}
        for assignment in head.spec.models:
            old = base.assignment(assignment.model)
            if old is None or old.version == assignment.version:
                continue
            if old.canary is not None and old.canary.version == assignment.version and assignment.canary is None:
                promoted[assignment.model] = assignment.version
            else:
                problems.append(f"{path}: {assignment.model}: stable version changed without promoting its canary")
        if _normalized(base, promoted) != _normalized(head, promoted):
            problems.append(f"{path}: fields other than canary fields changed")
    return tuple(problems)
