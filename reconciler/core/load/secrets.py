"""Credentials must never be written into the repository: find values that look like one.

The message says what it looks like and how to reference it instead, and never repeats the value.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from reconciler.core.load.problems import Problem
from reconciler.core.load.yamldoc import Path, YamlDocument

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("a private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
    ("an AWS access key", re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("a GitHub token", re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})\b")),
    ("a Slack token", re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}")),
    ("a JSON Web Token", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    ("a NATS nkey seed", re.compile(r"\bS[UOA][A-Z2-7]{56}\b")),
    ("a password inside a URL", re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@", re.IGNORECASE)),
)
# Free-form maps (labels, annotations) may carry any key; a secret-sounding key with a value is suspicious.
_SECRET_KEY = re.compile(r"(pass(word|wd)?|secret|token|api[-_]?key|private[-_]?key|credential)s?$", re.IGNORECASE)

HOW_TO = "reference it instead ({env: NAME} or {secret: name/key}) and rotate it: it is in git history now"


def _walk(value: Any, path: Path) -> Iterator[tuple[Path, Any]]:
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, (*path, index))


def find_plaintext_secrets(doc: YamlDocument) -> list[Problem]:
    problems: list[Problem] = []
    for path, value in _walk(doc.data, ()):
        if not isinstance(value, str):
            continue
        what = next((label for label, pattern in _PATTERNS if pattern.search(value)), None)
        if what is None and path and isinstance(path[-1], str) and _SECRET_KEY.search(path[-1]) and value.strip():
            what = f"a credential (key {path[-1]!r})"
        if what is not None:
            pos = doc.position(path)
            problems.append(
                Problem(doc.path, pos.line, pos.column, "secret.plaintext", f"this value looks like {what}; {HOW_TO}")
            )
    return problems
