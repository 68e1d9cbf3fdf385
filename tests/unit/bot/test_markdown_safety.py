"""`inline` and `code`, the two ways user-controlled text (zone names, cluster contexts, paths, error messages)
enters a comment, rendered by a CommonMark renderer over generated hostile strings: no tag, link, image, emphasis,
heading or code span of the input's making survives, no `@user` or `@org/team` mention is left, nothing GitHub
would autolink is left, and the text still reads as it was written. `code` used to drop the markdown escaping,
so `*x*` or `[x](y)` inside it rendered as markup: that case fails on the old code."""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from reconciler.core.bot import code, inline

pytestmark = pytest.mark.unit

RENDER = MarkdownIt("commonmark")
PIECES = [
    "@mallory", "@org/team", "<b>", "<img src=x>", "<!--", "-->", "```", "`", "*", "**", "_", "[x](http://evil)",
    "![i](http://evil/i.png)", "# ", "> ", "- ", "|", "\\", "&lt;", "&#64;", "https://evil.example", "www.evil.com",
    "~~", "\n", "<script>alert(1)</script>", "<details>", "\u2028", ":", "1. ",
]  # fmt: skip
hostile = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=12)), max_size=10).map("".join)
MENTION = re.compile(r"(?<![\w`])@[A-Za-z0-9][A-Za-z0-9-]*(/[A-Za-z0-9-]+)?")
AUTOLINK = re.compile(r"(?i)(https?|ftp)://|\bwww\.")


def _visible(rendered: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", rendered))


def _check(snippet: str, text: str, wrapper: str) -> None:
    rendered = RENDER.render(f"before {snippet} after")
    tags = set(re.findall(r"</?([a-z0-9]+)", rendered))
    assert tags <= {"p", wrapper}, (text, rendered)
    visible = _visible(rendered)
    assert not MENTION.search(visible.replace("\u200d", "\x00")), visible  # a joiner breaks each one
    assert not AUTOLINK.search(visible.replace("\u200d", "\x00")), visible

    def words(value: str) -> str:
        return " ".join(re.sub(r"[\x00-\x1f\x7f\u200d]", "", " ".join(value.split())).split())

    assert words(visible) == words(f"before {text} after")


@given(hostile)
def test_inline_text_renders_as_itself(text: str) -> None:
    _check(inline(text), text, "p")


@given(hostile)
def test_code_text_renders_as_itself(text: str) -> None:
    _check(code(text), text, "code")


@pytest.mark.parametrize("text", ["*bold*", "[x](http://evil)", "a_b_c", "@org/team", "https://evil.example"])
def test_named_cases_in_code(text: str) -> None:
    _check(code(text), text, "code")
