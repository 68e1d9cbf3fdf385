"""Round-trip edits of a zone file's canary fields (text in, text out; no file I/O).

ruamel.yaml keeps comments, key order, quoting and indentation, so the pull request's diff shows only the lines
that change: the weight and phase on a step, the `version:` line and the removed `canary:` block on a promotion,
the removed block on a rollback. Every result is validated as a Zone before it is returned.

Every edit is made for one analysed canary (`CanaryStep`: version, phase, weight) and refuses with `StaleCanary`
when the file now holds another one (a person moved, replaced or ended the canary since the analysis): the
verdict is about a canary that no longer runs. A step also writes `stepStartedAt`, so the next step is judged
only on traffic at the new weight.
"""

from __future__ import annotations

import io
import itertools
import json
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from reconciler.core.canary.verdict import CanaryStep
from reconciler.core.spec import Zone


class ZoneFileError(ValueError):
    """The zone file cannot be edited as asked (not YAML, not a Zone, no such model or canary); says where/why."""


class StaleCanary(ZoneFileError):
    """The zone file no longer holds the canary version and step the verdict was made for."""


def _yaml(text: str) -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    offset = 2
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    for previous, line in itertools.pairwise(lines):
        if line.lstrip().startswith("- ") and previous.rstrip().endswith(":"):
            offset = max((len(line) - len(line.lstrip())) - (len(previous) - len(previous.lstrip())), 0)
            break
    yaml.indent(mapping=2, sequence=offset + 2, offset=offset)
    return yaml


def _load(path: str, text: str) -> tuple[YAML, CommentedMap]:
    yaml = _yaml(text)
    try:
        tree = yaml.load(text)
    except YAMLError as error:
        raise ZoneFileError(f"{path}: not valid YAML: {error}") from error
    if not isinstance(tree, CommentedMap):
        raise ZoneFileError(f"{path}: the document is not a mapping")
    return yaml, tree


def _assignment(path: str, tree: CommentedMap, model: str) -> CommentedMap:
    for item in (tree.get("spec") or {}).get("models") or []:
        if isinstance(item, CommentedMap) and item.get("model") == model:
            return item
    raise ZoneFileError(f"{path}: the zone does not serve model {model!r}")


def _canary(path: str, assignment: CommentedMap, model: str, expect: CanaryStep) -> CommentedMap:
    canary = assignment.get("canary")
    if not isinstance(canary, CommentedMap):
        raise StaleCanary(
            f"{path}: model {model!r} has no canary any more (the analysis was for {expect.describe()}); "
            "nothing written"
        )
    found = CanaryStep(str(canary.get("version")), str(canary.get("phase", "shadow")), _weight(canary.get("weight")))
    if found != expect:
        raise StaleCanary(
            f"{path}: model {model!r} now runs canary {found.describe()}, not {expect.describe()} as analysed; "
            "nothing written (the next analysis starts over for the canary as it is now)"
        )
    return canary


def _weight(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else -1


def _timestamp(at: datetime) -> DoubleQuotedScalarString:
    if at.tzinfo is None:
        raise ValueError("a step's start time must be timezone-aware")
    text = at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    quoted: DoubleQuotedScalarString = DoubleQuotedScalarString(text)
    return quoted


def _dump(path: str, yaml: YAML, tree: CommentedMap) -> str:
    out = io.StringIO()
    yaml.dump(tree, out)
    text = out.getvalue()
    parse_zone(path, text)
    return text


def parse_zone(path: str, text: str) -> Zone:
    """Validate a zone file's text (round-trip parse, then the Zone schema)."""
    _, tree = _load(path, text)
    plain: Any = json.loads(json.dumps(tree, default=str))
    try:
        return Zone.model_validate(plain)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in error.errors())
        raise ZoneFileError(f"{path}: not a valid Zone: {problems}") from error


def set_step(
    path: str, text: str, model: str, *, expect: CanaryStep, phase: str, weight: int, started: datetime
) -> str:
    """Move the canary from `expect` to `phase` at `weight` (an advance), starting the step's bake at `started`."""
    yaml, tree = _load(path, text)
    canary = _canary(path, _assignment(path, tree, model), model, expect)
    canary["weight"] = weight
    if "phase" in canary or phase != "shadow":
        canary["phase"] = phase
    stamp = _timestamp(started)
    if "stepStartedAt" in canary:
        canary["stepStartedAt"] = stamp
    else:
        keys = list(canary)
        after = keys.index("startedAt") + 1 if "startedAt" in keys else len(keys)
        canary.insert(after, "stepStartedAt", stamp)
    return _dump(path, yaml, tree)


def promote(path: str, text: str, model: str, *, expect: CanaryStep) -> str:
    """The canary version becomes the stable version; the canary block goes."""
    yaml, tree = _load(path, text)
    assignment = _assignment(path, tree, model)
    canary = _canary(path, assignment, model, expect)
    assignment["version"] = canary["version"]
    del assignment["canary"]
    return _dump(path, yaml, tree)


def rollback(path: str, text: str, model: str, *, expect: CanaryStep) -> str:
    """Remove the canary: stable keeps serving, the canary Deployment is pruned on the next apply."""
    yaml, tree = _load(path, text)
    assignment = _assignment(path, tree, model)
    _canary(path, assignment, model, expect)
    del assignment["canary"]
    return _dump(path, yaml, tree)
