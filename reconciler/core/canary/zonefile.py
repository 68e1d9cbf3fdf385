"""Round-trip edits of a zone file's canary fields (text in, text out; no file I/O).

ruamel.yaml keeps comments, key order, quoting and indentation, so the pull request's diff shows only the lines
that change: the weight and phase on a step, the `version:` line and the removed `canary:` block on a promotion,
the removed block on a rollback. ruamel only *edits*: every decision is made on the loader's reading
(`zonedoc.read_zone`) — which model is edited, whether the file still holds the analysed canary — and the result
must mean to the loader exactly the zone the edit intends (the same change made on the loader's reading of the
original; `reconciler.core.load.write`): a value ruamel would write back as another value (its YAML 1.2 rules
read `0o10` as 8, the loader as text) is written as the loader read it, so no edit, a rollback least of all,
changes what else gets applied or fails on an odd value elsewhere in the file.

Every edit is made for one analysed canary (`CanaryStep`: version, phase, weight) and refuses with `StaleCanary`
when the file now holds another one (a person moved, replaced or ended the canary since the analysis): the
verdict is about a canary that no longer runs. A step also writes `stepStartedAt`, so the next step is judged
only on traffic at the new weight.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, MutableMapping
from datetime import UTC, datetime
from typing import Any

from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from reconciler.core.canary.verdict import CanaryStep
from reconciler.core.canary.zonedoc import ZoneFileError, read_zone
from reconciler.core.load import EditRefused, round_trip_load, round_trip_yaml, write, written
from reconciler.core.spec import ModelAssignment, Zone

# One change to a model's assignment, made on ruamel's tree and on the loader's plain data alike.
Change = Callable[[MutableMapping[str, Any]], None]


class StaleCanary(ZoneFileError):
    """The zone file no longer holds the canary version and step the verdict was made for."""


def _editable(path: str, tree: CommentedMap, index: int) -> CommentedMap:
    models = tree.get("spec", {}).get("models")
    assignment = models[index] if isinstance(models, list) and index < len(models) else None
    if not isinstance(assignment, CommentedMap):  # pragma: no cover - both readings agree on structure
        raise EditRefused(f"{path}: spec.models[{index}] cannot be edited in place")
    return assignment


def _served(path: str, zone: Zone, model: str) -> tuple[int, ModelAssignment]:
    for index, assignment in enumerate(zone.spec.models):
        if assignment.model == model:
            return index, assignment
    raise ZoneFileError(f"{path}: the zone does not serve model {model!r}")


def _check_step(path: str, assignment: ModelAssignment, expect: CanaryStep) -> None:
    canary = assignment.canary
    if canary is None:
        raise StaleCanary(
            f"{path}: model {assignment.model!r} has no canary any more (the analysis was for "
            f"{expect.describe()}); nothing written"
        )
    found = CanaryStep(canary.version, canary.phase, canary.weight)
    if found != expect:
        raise StaleCanary(
            f"{path}: model {assignment.model!r} now runs canary {found.describe()}, not {expect.describe()} as "
            "analysed; nothing written (the next analysis starts over for the canary as it is now)"
        )


def _timestamp(at: datetime) -> DoubleQuotedScalarString:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("a step's start time must be timezone-aware")
    text = at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    quoted: DoubleQuotedScalarString = DoubleQuotedScalarString(text)
    return quoted


def _edit(path: str, text: str, model: str, expect: CanaryStep, change: Change) -> str:
    before, zone = read_zone(path, text)
    index, assignment = _served(path, zone, model)
    _check_step(path, assignment, expect)
    intended = copy.deepcopy(before.data)
    change(intended["spec"]["models"][index])
    try:
        editor = round_trip_yaml(text)
        tree = round_trip_load(path, editor, text, before.data)
        change(_editable(path, tree, index))
        result, _ = write(path, "Zone", editor, tree, intended)
    except EditRefused as refused:
        raise ZoneFileError(str(refused), refused.problems) from None
    return result


def set_step(
    path: str, text: str, model: str, *, expect: CanaryStep, phase: str, weight: int, started: datetime
) -> str:
    """Move the canary from `expect` to `phase` at `weight` (an advance), starting the step's bake at `started`."""
    stamp = _timestamp(started)

    def step(assignment: MutableMapping[str, Any]) -> None:
        canary = assignment["canary"]
        canary["weight"] = weight
        if "phase" in canary or phase != "shadow":
            canary["phase"] = written(phase)
        if "stepStartedAt" not in canary and isinstance(canary, CommentedMap):
            keys = list(canary)
            after = keys.index("startedAt") + 1 if "startedAt" in keys else len(keys)
            canary.insert(after, "stepStartedAt", stamp)
        else:
            canary["stepStartedAt"] = stamp

    return _edit(path, text, model, expect, step)


def promote(path: str, text: str, model: str, *, expect: CanaryStep) -> str:
    """The canary version becomes the stable version; the canary block goes."""

    def promotion(assignment: MutableMapping[str, Any]) -> None:
        assignment["version"] = assignment["canary"]["version"]
        del assignment["canary"]

    return _edit(path, text, model, expect, promotion)


def rollback(path: str, text: str, model: str, *, expect: CanaryStep) -> str:
    """Remove the canary: stable keeps serving, the canary Deployment is pruned on the next apply."""

    def removal(assignment: MutableMapping[str, Any]) -> None:
        del assignment["canary"]

    return _edit(path, text, model, expect, removal)
