"""A zone file read for a decision — by the merge guardrail, before and after every round-trip edit — exactly as
the loader reads it (`reconciler.core.load.read_document`, then the Zone schema), so what the canary controller
approves or writes is what gets applied. Problems keep the loader's file:line:column and code."""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.core.load import Problem, YamlDocument, read_document, validate_document
from reconciler.core.spec import Zone


class ZoneFileError(ValueError):
    """The zone file cannot be edited as asked (not YAML, not a Zone, no such model or canary); says where/why."""

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        super().__init__(message)
        self.problems = tuple(problems)


def _refuse(path: str, problems: Sequence[Problem]) -> ZoneFileError:
    what = "not valid YAML" if problems[0].code.startswith("yaml.") else "not a valid Zone"
    return ZoneFileError(f"{path}: {what}: " + "; ".join(map(str, problems)), problems)


def read_zone(path: str, text: str | bytes) -> tuple[YamlDocument, Zone]:
    """The loader's reading of a zone file: its plain data (with positions) and the validated Zone."""
    doc = read_document(path, text)
    if isinstance(doc, Problem):
        raise _refuse(path, [doc])
    zone = validate_document(doc, "Zone")
    if isinstance(zone, list):
        raise _refuse(path, zone)
    assert isinstance(zone, Zone)
    return doc, zone


def parse_zone(path: str, text: str | bytes) -> Zone:
    """Validate a zone file's text as the loader does (its YAML rules, then the Zone schema)."""
    return read_zone(path, text)[1]
