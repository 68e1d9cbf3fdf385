"""What the loader reports: a `Problem` names a file, a line and column, a stable code and a readable message.

Codes are stable API (CI annotations and tests match on them). Families:

    yaml.*      the file is not acceptable YAML (syntax, encoding, size, tags, duplicate keys, alias bombs)
    layout.*    the file is in the wrong place or missing, or its name disagrees with its folder
    document.*  apiVersion / kind are missing, unsupported or wrong for the location
    schema.*    the document does not match its kind's schema (missing, unknown, wrong type, invalid value,
                a timestamp without a time zone, replicas that would split a key's window)
    ref.*       cross-document rules (unknown region, policy, model or version; duplicates; compatibility)
    secret.*    something that looks like a credential is written in plain text
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    line: int  # 1-based; 0 when the problem concerns the whole file or the tree
    column: int  # 1-based; 0 when unknown
    code: str
    message: str
    severity: Severity = Severity.ERROR

    def location(self) -> str:
        if self.line <= 0:
            return self.file
        return f"{self.file}:{self.line}:{self.column}"

    def __str__(self) -> str:
        return f"{self.location()}: {self.severity.value}[{self.code}] {self.message}"


@dataclass(frozen=True)
class Position:
    line: int  # 1-based
    column: int  # 1-based


FILE_START = Position(1, 1)
