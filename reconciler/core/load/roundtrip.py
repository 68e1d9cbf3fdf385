"""Round-trip edits of desired-state files that keep comments, key order, quoting and indentation (ruamel.yaml),
checked against the loader's reading so an edit never changes what a file means.

ruamel reads YAML 1.2, the loader (`read_document`) reads as PyYAML does; they disagree on texts such as `010`,
`yes` or `1:20`. So ruamel is used only to *write*: values an edit writes go in so the loader reads them back as
written (`written` quotes a string the loader would take for a number or boolean; a float always gets a dot in its
mantissa, since the loader reads `1e-07` as text), and `write` makes the result mean to the loader exactly what
was intended: a value ruamel would write back as another value is written as the loader read it, and a change of
structure nobody intended is refused with its position.
"""

from __future__ import annotations

import io
import itertools
import math
from collections.abc import Sequence
from typing import Any

import yaml as pyyaml
from pydantic import BaseModel
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.representer import RoundTripRepresenter
from ruamel.yaml.scalarstring import SingleQuotedScalarString

from reconciler.core.load.documents import describe_path, validate
from reconciler.core.load.problems import Problem
from reconciler.core.load.yamldoc import Path, YamlDocument, read_document

_STR = "tag:yaml.org,2002:str"
_FLOAT = "tag:yaml.org,2002:float"
_LOADER_RESOLVER = pyyaml.resolver.Resolver()
_MAX_REWRITES = 32


def reads_as_text(plain: str) -> bool:
    """Whether the loader reads this text, written as a plain (unquoted) scalar, as a string."""
    tag: str = _LOADER_RESOLVER.resolve(pyyaml.ScalarNode, plain, (True, False))  # type: ignore[no-untyped-call]
    return tag == _STR


def written(value: Any) -> Any:
    """A value an edit writes (plain data), in the form the loader reads back as that value: a string the loader
    would take for something else (`yes`, `1:20`, `010`) is quoted. Values ruamel read are left alone (ruamel holds
    an unquoted string as a plain str, so quoting every str would re-quote, and re-mean, the author's `1:20`)."""
    if isinstance(value, dict):
        return {key: written(item) for key, item in value.items()}
    if isinstance(value, list):
        return [written(item) for item in value]
    if type(value) is str and "\n" not in value and not reads_as_text(value):
        return SingleQuotedScalarString(value)
    return value


class _Representer(RoundTripRepresenter):
    """ruamel's round-trip representer, writing a new float so the loader reads a number (ruamel reads floats as
    ScalarFloat, which keeps its own form; only floats an edit writes come here)."""


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


_Representer.add_representer(float, _represent_float)


class _Constructor(RoundTripConstructor):
    """ruamel's constructors, except that a scalar its int or float rules match but cannot convert (`0o_`, `0x_`)
    stays its text — as the loader reads it — instead of crashing the edit."""

    def construct_yaml_int(self, node: ScalarNode) -> Any:
        try:
            return super().construct_yaml_int(node)
        except (ValueError, IndexError):
            return self.construct_scalar(node)

    def construct_yaml_float(self, node: ScalarNode) -> Any:
        try:
            return super().construct_yaml_float(node)
        except (ValueError, IndexError):
            return self.construct_scalar(node)


_Constructor.add_constructor("tag:yaml.org,2002:int", _Constructor.construct_yaml_int)
_Constructor.add_constructor("tag:yaml.org,2002:float", _Constructor.construct_yaml_float)


def round_trip_yaml(text: str) -> YAML:
    """A ruamel.yaml round-trip instance for editing `text`: its quoting, width and list indentation kept."""
    editor = YAML(typ="rt")
    editor.Representer = _Representer
    editor.Constructor = _Constructor
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


def round_trip_load(path: str, editor: YAML, text: str, reading: dict[str, Any]) -> CommentedMap:
    """The round-trip tree of a document the loader read as `reading`, or `EditRefused` when ruamel cannot hold it.

    Where the loader reads text but ruamel a number or boolean (`0o10`, `+090`, `1e3`), the tree gets the loader's
    text: ruamel would write its number back in a notation of its own (or fail to), so the value is written as
    the text it means, quoted where YAML needs it. Dates and times ruamel keeps as written."""
    try:
        tree = editor.load(text)
    except Exception as error:  # YAML 1.2 rules, and ruamel's constructors raise more than YAMLError
        raise EditRefused(f"{path}: cannot be edited in its own formatting ({error}); nothing written") from error
    if not isinstance(tree, CommentedMap):
        raise EditRefused(f"{path}: the document is not a mapping")
    _align(tree, reading)
    return tree


def _align(node: Any, reading: Any) -> None:
    pairs: list[tuple[Any, Any]] = []
    if isinstance(node, dict) and isinstance(reading, dict):
        pairs = [(key, reading[key]) for key in node if isinstance(key, str) and key in reading]
    elif isinstance(node, list) and isinstance(reading, list) and len(node) == len(reading):
        pairs = list(enumerate(reading))
    for key, meant in pairs:
        held = node[key]
        if isinstance(meant, str) and isinstance(held, int | float):  # bool is an int
            node[key] = written(meant)
        else:
            _align(held, meant)


def round_trip_dump(path: str, editor: YAML, tree: Any) -> str:
    """The edited tree as text, or `EditRefused` when ruamel cannot write back what it read."""
    out = io.StringIO()
    try:
        editor.dump(tree, out)
    except Exception as error:  # ruamel's representer raises bare ValueError/IndexError on floats such as -0.E0
        raise EditRefused(
            f"{path}: cannot be written back in its own formatting ({error!r}); nothing written"
        ) from error
    return out.getvalue()


def rejected(path: str, kind: str, problems: Sequence[Problem]) -> EditRefused:
    """A document the loader rejects: every problem with the loader's file:line:column and code."""
    what = "not valid YAML" if problems[0].code.startswith("yaml.") else f"not a valid {kind}"
    return EditRefused(f"{path}: {what}: " + "; ".join(map(str, problems)), problems)


class MeaningChanged(EditRefused):
    """The written text would mean something else to the loader at `where`."""

    def __init__(self, message: str, where: Path) -> None:
        super().__init__(message)
        self.where = where


def check_edit(path: str, kind: str, result: str, intended: dict[str, Any]) -> BaseModel:
    """The document `result` means, to the loader, as `intended` (the original's reading, changed as the edit
    asked) would: its validated document, else `EditRefused` (`MeaningChanged` naming the first value whose
    meaning changed)."""
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
    field = describe_path(where)
    raise MeaningChanged(
        f"{path}:{pos.line}:{pos.column}: the round-trip edit would change what {field} means to the loader "
        f"({_at(intended, where)!r} would become {_at(after.data, where)!r}); nothing written",
        where,
    )


def write(path: str, kind: str, editor: YAML, tree: CommentedMap, intended: dict[str, Any]) -> tuple[str, BaseModel]:
    """The edited tree as text that means `intended` to the loader, and its validated document.

    A value ruamel writes back in a form of its own that the loader reads as another value (a time
    `2026-11-27t09:00` as `2026-11-27T09:00:00`, a float `7.692278813919984e-08` as `...982e-08`) is written as
    the loader's value instead (text quoted as needed, a number in full), and the tree written again; anything
    else that changes meaning is refused (`EditRefused`)."""
    for _ in range(_MAX_REWRITES):
        text = round_trip_dump(path, editor, tree)
        try:
            return text, check_edit(path, kind, text, intended)
        except MeaningChanged as changed:
            if not changed.where:
                raise
            key, parent, meant_parent = (
                changed.where[-1],
                _at(tree, changed.where[:-1]),
                _at(intended, changed.where[:-1]),
            )
            if isinstance(parent, dict) and isinstance(meant_parent, dict) and key not in meant_parent:
                del parent[key]
                continue
            meant = _at(intended, changed.where)
            if isinstance(meant, dict | list) or not isinstance(parent, dict | list):
                raise
            parent[key] = written(meant)  # type: ignore[index]
    raise EditRefused(f"{path}: more than {_MAX_REWRITES} values would be re-written; nothing written")


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
