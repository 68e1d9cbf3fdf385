"""Safe text for comments and pull-request bodies, hidden markers, and splitting under GitHub's size limit.

Anything a user controls (branch names, file paths, YAML values, error messages, logins) goes through `inline`
before it reaches a comment: HTML is escaped (no injected tags or comment-enders), markdown punctuation is
backslash-escaped, `@` becomes `@` + zero-width joiner so nobody is pinged (users or teams), a joiner also breaks
what GitHub would autolink (`://`, `www.`), and line breaks collapse.
Mermaid labels get `mermaid_label`, which keeps only characters that cannot end a label or start a directive.
Text that goes verbatim into a code block gets `fenced`, whose fence no backtick run inside can close.

GitHub's limits on what the bot sends are here too: `COMMENT_LIMIT` (a comment's or a pull request's body),
`TITLE_LIMIT` (a pull request's title); `clip` bounds a user-controlled string before it is escaped.
"""

from __future__ import annotations

import html
import re

COMMENT_LIMIT = 65_536  # GitHub's hard limit on an issue comment's and a pull request's body, in characters
TITLE_LIMIT = 256  # GitHub's limit on a pull request's title
_SAFE_LIMIT = COMMENT_LIMIT - 1_536  # room for the marker, a part header and a continuation note
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")
_MENTION = re.compile(r"@(?=[A-Za-z0-9])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # what a renderer would replace or drop anyway
# What GitHub turns into a link without any markup: scheme URLs and www. hosts (a joiner inside stops it)
_SCHEME = re.compile(r"://")
_WWW = re.compile(r"(?i)\b(w)(ww\\?\.)")


def inline(text: object) -> str:
    """User-controlled text, safe inside a markdown paragraph or table cell."""
    flat = _CONTROL.sub("", " ".join(str(text).split()))
    # quote=False: an entity such as &#x27; would have its `#` escaped below and show as text; quotes are
    # harmless outside attributes, and no attribute can be formed once `<` is escaped
    escaped = _MD_SPECIAL.sub(r"\\\1", html.escape(flat, quote=False))
    unlinked = _WWW.sub("\\1\u200d\\2", _SCHEME.sub(":\u200d//", escaped))
    return _MENTION.sub("@\u200d", unlinked)


def code(text: object) -> str:
    """User-controlled text as inline code: HTML <code> around `inline` text. GitHub still parses markdown inside
    an inline HTML element, so the text is escaped exactly as in a paragraph (backticks cannot break out, and
    `*`, `[...](...)` or a URL inside render as themselves)."""
    return f"<code>{inline(text)}</code>"


def mermaid_label(text: object) -> str:
    """A mermaid chart label: letters, digits, space and a few harmless marks only."""
    return re.sub(r"[^A-Za-z0-9 .,:/=_-]", "", str(text))[:60] or "-"


def clip(text: object, limit: int) -> str:
    """`text` cut to at most `limit` characters, ending in an ellipsis when it was cut. Clip before escaping, so
    an escape sequence is never cut in half."""
    value = str(text)
    return value if len(value) <= limit else value[: max(limit - 1, 0)] + "…"


def fenced(text: str, language: str = "") -> str:
    """`text` verbatim in a code block whose fence is longer than any backtick run inside it: the text cannot
    close the block, and nothing in a code block renders as HTML or pings anybody."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{text.rstrip()}\n{fence}"


def marker(name: str) -> str:
    """A hidden HTML comment that identifies one of the bot's comments (e.g. the plan comment of a PR)."""
    if not re.fullmatch(r"[a-z0-9:/._-]+", name):
        raise ValueError(f"marker names are lower-case tokens, got {name!r}")
    return f"<!-- edgeops:{name} -->"


def part_marker(name: str, index: int) -> str:
    return marker(f"{name}:part-{index}")


_FENCE = re.compile(r"^(`{3,}|~{3,})")
_TABLE_DELIMITER = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?$")


def split_comment(body: str, limit: int = _SAFE_LIMIT) -> tuple[str, ...]:
    """Split into parts of at most `limit` characters. A part ends on a block boundary (a blank line outside any
    code block) when one lies within it, so a chart or a code block stays whole; a block too long for one part is
    split on line boundaries: a code fence is closed at the end of the part and reopened in the next one, and a
    table's header row is repeated so the rows stay a table. A single over-long line is cut hard."""
    parts: list[str] = []
    current: list[str] = []
    size = 0
    fence: str | None = None
    header: list[str] = []  # the header and delimiter rows of the table `current` ends in
    boundary = 0  # len(current) at the last block boundary: everything before it is whole blocks

    def cut(at: int, closing: str, reopen: list[str]) -> None:
        nonlocal current, size, boundary
        text = "".join(current[:at])
        # A hard-cut line has no line break of its own: a closing fence needs one before it.
        parts.append(text + ("" if not closing or text.endswith("\n") else "\n") + closing)
        current = reopen + current[at:]
        size = sum(len(x) for x in current)
        boundary = 0

    for raw in body.splitlines(keepends=True):
        for line in [raw[i : i + limit // 2] for i in range(0, len(raw), limit // 2)]:
            closing = f"{fence}\n" if fence else ""
            room = limit - len(line) - (len(closing) + 1 if closing else 0)
            if size > room and boundary:
                cut(boundary, "", [])
            if size > room and current:
                reopen = [f"{fence}\n"] if fence else header if sum(map(len, header)) <= limit // 4 else []
                cut(len(current), closing, list(reopen))
            current.append(line)
            size += len(line)
            stripped = line.strip()
            match = _FENCE.match(stripped)
            if fence is not None:
                if set(stripped) == {fence[0]} and len(stripped) >= len(fence):  # as long as the opener, or longer
                    fence = None
            elif match:
                fence, header = match.group(1), []
            elif not stripped:
                header, boundary = [], len(current)
            elif _TABLE_DELIMITER.match(stripped) and len(current) >= 2 and current[-2].lstrip().startswith("|"):
                header = current[-2:]
            elif not stripped.startswith("|"):
                header = []
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
