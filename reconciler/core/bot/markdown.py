"""Safe text for comments and pull-request bodies, hidden markers, and splitting under GitHub's size limit.

Anything a user controls (branch names, file paths, YAML values, error messages, logins) goes through `inline`
before it reaches a comment: HTML is escaped (no injected tags or comment-enders), markdown punctuation is
backslash-escaped, `@` becomes `@` + zero-width joiner so nobody is pinged, and line breaks collapse.
Mermaid labels get `mermaid_label`, which keeps only characters that cannot end a label or start a directive.
"""

from __future__ import annotations

import html
import re

COMMENT_LIMIT = 65_536  # GitHub's hard limit on an issue comment's body, in characters
_SAFE_LIMIT = COMMENT_LIMIT - 1_536  # room for the marker, a part header and a continuation note
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")
_MENTION = re.compile(r"@(?=[A-Za-z0-9])")


def inline(text: object) -> str:
    """User-controlled text, safe inside a markdown paragraph or table cell."""
    flat = " ".join(str(text).split())
    escaped = _MD_SPECIAL.sub(r"\\\1", html.escape(flat, quote=True))
    return _MENTION.sub("@\u200d", escaped)


def code(text: object) -> str:
    """User-controlled text as inline code: HTML <code> with escaping (backticks cannot break out)."""
    flat = " ".join(str(text).split())
    return "<code>" + _MENTION.sub("@\u200d", html.escape(flat, quote=True)) + "</code>"


def mermaid_label(text: object) -> str:
    """A mermaid chart label: letters, digits, space and a few harmless marks only."""
    return re.sub(r"[^A-Za-z0-9 .,:/=_-]", "", str(text))[:60] or "-"


def marker(name: str) -> str:
    """A hidden HTML comment that identifies one of the bot's comments (e.g. the plan comment of a PR)."""
    if not re.fullmatch(r"[a-z0-9:/._-]+", name):
        raise ValueError(f"marker names are lower-case tokens, got {name!r}")
    return f"<!-- edgeops:{name} -->"


def part_marker(name: str, index: int) -> str:
    return marker(f"{name}:part-{index}")


def split_comment(body: str, limit: int = _SAFE_LIMIT) -> tuple[str, ...]:
    """Split on line boundaries into parts of at most `limit` characters; code fences stay balanced (a part
    ending inside a fence closes it and the next part reopens it). A single over-long line is cut hard."""
    parts: list[str] = []
    current: list[str] = []
    size = 0
    fence: str | None = None
    for raw in body.splitlines(keepends=True):
        lines = [raw[i : i + limit // 2] for i in range(0, len(raw), limit // 2)] or [raw]
        for line in lines:
            closing = f"{fence}\n" if fence else ""
            if size + len(line) + len(closing) > limit and current:
                parts.append("".join(current) + closing)
                current = [f"{fence}\n"] if fence else []
                size = sum(len(x) for x in current)
            current.append(line)
            size += len(line)
            stripped = line.strip()
            match = re.match(r"^(`{3,}|~{3,})", stripped)
            if match:
                if fence is None:
                    fence = match.group(1)
                elif stripped == fence or (stripped.startswith(fence) and not stripped[len(fence) :].strip()):
                    fence = None
    if current or not parts:
        parts.append("".join(current))
    return tuple(parts)


def with_parts(name: str, body: str) -> tuple[str, ...]:
    """The comment bodies for `body` under marker `name`: one when it fits, else numbered parts."""
    chunks = split_comment(body)
    if len(chunks) == 1:
        return (f"{marker(name)}\n{chunks[0]}",)
    total = len(chunks)
    return tuple(f"{part_marker(name, i + 1)}\n_Part {i + 1} of {total}._\n\n{chunk}" for i, chunk in enumerate(chunks))
