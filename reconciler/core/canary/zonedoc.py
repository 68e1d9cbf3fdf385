"""A zone file read for a decision — by the merge guardrail, before and after every round-trip edit — exactly as
the loader reads it (`reconciler.core.load.read_document`, then the Zone schema), so what the canary controller
approves or writes is what gets applied. Problems keep the loader's file:line:column and code."""

from __future__ import annotations

from reconciler.core.load import EditRefused, Problem, YamlDocument, read_document, rejected, validate_document
from reconciler.core.spec import Zone


class ZoneFileError(EditRefused):
    """The zone file cannot be edited as asked (not YAML, not a Zone, no such model or canary, an edit that would
    change what another value means); says where and why."""


def _refused(path: str, problems: list[Problem]) -> ZoneFileError:
    refused = rejected(path, "Zone", problems)
    return ZoneFileError(str(refused), refused.problems)


def read_zone(path: str, text: str | bytes) -> tuple[YamlDocument, Zone]:
    """The loader's reading of a zone file: its plain data (with positions) and the validated Zone."""
    doc = read_document(path, text)
    if isinstance(doc, Problem):
        raise _refused(path, [doc])
    zone = validate_document(doc, "Zone")
    if isinstance(zone, list):
        raise _refused(path, zone)
    assert isinstance(zone, Zone)
    return doc, zone


def parse_zone(path: str, text: str | bytes) -> Zone:
    """Validate a zone file's text as the loader does (its YAML rules, then the Zone schema)."""
    return read_zone(path, text)[1]
