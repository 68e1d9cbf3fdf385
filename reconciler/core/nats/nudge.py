"""A nudge's message body: which commit, why, and who sent it (JSON). A nudge means "fetch and reconcile now" in
any case, so reading one never fails: a body that is not what it should be (garbage, a truncated JSON, a field of
the wrong type) reads as a nudge that says nothing; its fields are only logged and counted.

    encode_nudge(Nudge(sha="3f2a…", why="rollback #12", source=NudgeSource.CANARY))  -> b'{"sha": ...}'
    decode_nudge(b"\\xff garbage")                                                  -> Nudge(source=OTHER)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum

MAX_FIELD = 200  # a nudge's fields only reach logs: keep them short whatever was sent


class NudgeSource(StrEnum):
    """Who nudged (a metric label, so a closed set: anything else reads as OTHER)."""

    WEBHOOK = "webhook"
    CANARY = "canary"
    MANUAL = "manual"
    OTHER = "other"


@dataclass(frozen=True)
class Nudge:
    sha: str | None = None
    why: str | None = None
    source: NudgeSource = NudgeSource.OTHER


def encode_nudge(nudge: Nudge) -> bytes:
    body: dict[str, str] = {"source": nudge.source.value}
    if nudge.sha is not None:
        body["sha"] = nudge.sha
    if nudge.why is not None:
        body["why"] = nudge.why
    return json.dumps(body, sort_keys=True).encode()


def _text(body: dict[object, object], key: str) -> str | None:
    value = body.get(key)
    return value[:MAX_FIELD] if isinstance(value, str) and value else None


def decode_nudge(data: bytes) -> Nudge:
    """The nudge `data` describes, as far as it describes one; never raises."""
    try:
        body = json.loads(data)
    except (ValueError, RecursionError):  # not UTF-8, not JSON, or nested beyond the parser's depth
        return Nudge()
    if not isinstance(body, dict):
        return Nudge()
    source = _text(body, "source")
    known = NudgeSource(source) if source is not None and source in set(NudgeSource) else NudgeSource.OTHER
    return Nudge(sha=_text(body, "sha"), why=_text(body, "why"), source=known)
