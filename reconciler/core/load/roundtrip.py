"""Round-trip edits of desired-state files that keep comments, key order, quoting and indentation (ruamel.yaml),
checked against the loader's reading so an edit never changes what a file means.

ruamel reads YAML 1.2, the loader (`read_document`) reads as PyYAML does; they disagree on texts such as `010`,
`yes` or `1:20`. So ruamel is used only to *write*: values an edit writes are represented so the loader reads
them back as written (a string the loader would take for a number or boolean is quoted; a float always has a dot
in its mantissa, since the loader reads `1e-07` as text), and `check_edit` refuses a result whose meaning to the
loader is not the one intended — e.g. a value elsewhere in the file that ruamel writes back in another form.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import yaml as pyyaml
from pydantic import BaseModel
from ruamel.yaml import YAML
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.representer import RoundTripRepresenter

from reconciler.core.load.documents import validate
from reconciler.core.load.problems import Problem
from reconciler.core.load.yamldoc import Path, YamlDocument, read_document

_STR = "tag:yaml.org,2002:str"
_FLOAT = "tag:yaml.org,2002:float"
_LOADER_RESOLVER = pyyaml.resolver.Resolver()


def reads_as_text(plain: str) -> bool:
    """Whether the loader reads this text, written as a plain (unquoted) scalar, as a string."""
    tag: str = _LOADER_RESOLVER.resolve(pyyaml.ScalarNode, plain, (True, False))  # type: ignore[no-untyped-call]
    return tag == _STR


class _Representer(RoundTripRepresenter):
    """ruamel's round-trip representer, writing new values in forms the loader reads back as the same value."""


def _represent_str(representer: RoundTripRepresenter, data: str) -> ScalarNode:
    if "\n" not in data and not reads_as_text(data):
        node: ScalarNode = representer.represent_scalar(_STR, data, style="'")
        return node
    plain: ScalarNode = representer.represent_str(data)
    return plain


def _represent_float(representer: RoundTripRepresenter, data: float) -> ScalarNode:
    if math.isnan(data) or math.isinf(data):
        special: ScalarNode = representer.represent_float(data)
        return special
    text = repr(data)
    mantissa, e, exponent = text.partition("e")
    if e and "." not in mantissa:
        text = f"{mantissa}.0e{exponent}"
    node: ScalarNode = representer.represent_scalar(_FLOAT, text)
    return node


_Representer.add_representer(str, _represent_str)
_Representer.add_representer(float, _represent_float)


def round_trip_yaml(text: str) -> YAML:
    """A ruamel.yaml round-trip instance for editing `text`: its quoting, width and list indentation kept."""
    editor = YAML(typ="rt")
    editor.Representer = _Representer
    editor.preserve_quotes = True
    editor.width = 4096  # never re-wrap long lines the author wrote on one line
    # Keep the author's list style: the dash's indent under its parent key (0: "- x" flush, 2: indented).
    offset = 2
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    for previous, line in itertools.pairwise(lines):
        if line.lstrip().startswith("- ") and previous.rstrip().endswith(":"):
            offset = max((len(line) - len(line.lstrip())) - (len(previous) - len(previous.lstrip())), 0)
            break
    editor.indent(mapping=2, sequence=offset + 2, offset=offset)
    return editor


class EditRefused(ValueError):
    """The edited text is not a valid document, or does not mean what the edit intended; says where and why."""

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        super().__init__(message)
        self.problems = tuple(problems)


def rejected(path: str, kind: str, problems: Sequence[Problem]) -> EditRefused:
    """A document the loader rejects: every problem with the loader's file:line:column and code."""
    what = "not valid YAML" if problems[0].code.startswith("yaml.") else f"not a valid {kind}"
    return EditRefused(f"{path}: {what}: " + "; ".join(map(str, problems)), problems)


def check_edit(path: str, kind: str, result: str, intended: dict[str, Any]) -> BaseModel:
    """The document `result` means, to the loader, as `intended` (the original's reading, changed as the edit
    asked) would: its validated document, else `EditRefused` naming the first value whose meaning changed."""
    after = read_document(path, result)
    if isinstance(after, Problem):
        raise rejected(path, kind, [after])
    got = validate(after, kind)
    expected = validate(YamlDocument(path, intended), kind)
    if isinstance(got, list) and isinstance(expected, list):
        raise rejected(path, kind, got)  # the edit itself breaks the schema
    if got == expected and isinstance(got, BaseModel):
        return got
    where = first_difference(after.data, intended) or ()
    pos = after.position(where)
    field = ".".join(str(p) for p in where) or "the document"
    raise EditRefused(
        f"{path}:{pos.line}:{pos.column}: the round-trip edit would change what {field} means to the loader "
        f"({_at(intended, where)!r} would become {_at(after.data, where)!r}); nothing written: quote the value "
        "or write it in a plain form"
    )


def first_difference(got: Any, want: Any, where: Path = ()) -> Path | None:
    """The first path at which two plain documents differ (a boolean is not the number 1)."""
    if isinstance(got, dict) and isinstance(want, dict):
        for key in [*got, *(k for k in want if k not in got)]:
            found = first_difference(got.get(key), want.get(key), (*where, key))
            if found is not None:
                return found
        return None
    if isinstance(got, list) and isinstance(want, list) and len(got) == len(want):
        for index, (a, b) in enumerate(zip(got, want, strict=True)):
            found = first_difference(a, b, (*where, index))
            if found is not None:
                return found
        return None
    return None if got == want and isinstance(got, bool) == isinstance(want, bool) else where


def _at(data: Any, where: Path) -> Any:
    for part in where:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data
