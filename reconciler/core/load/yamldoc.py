"""Safe YAML: bytes → plain data (dict / list / str / int / float / bool / None) plus the position of every value.

`read_document` is THE reading of a desired-state document: the loader, the merge guardrail and the round-trip
editors all decide on what it returns, so a value such as `010`, `yes` or `1_000` means one thing everywhere.
Its rules are PyYAML's (YAML 1.1 resolution: `010` is octal 8, `yes`/`on` are booleans, `0o10` and `1e3` are
strings); timestamps stay text for the schema to parse.

Nothing is constructed from tags: the file is *composed* into nodes and we build plain values ourselves, so no
language-specific tag can run code. Extra rules beyond YAML itself, each with a stable code:

- the file is UTF-8 (`yaml.encoding`), at most MAX_FILE_BYTES (`yaml.too-large`), one document (`yaml.multiple-documents`,
  `yaml.empty`) whose top level is a mapping (`yaml.not-a-mapping`);
- only the core schema's tags (`yaml.tag`), and an explicitly tagged scalar must be valid for its tag
  (`yaml.bad-scalar`, e.g. `!!int abc`); no merge keys (`yaml.merge-key`); keys are strings (`yaml.key`);
- duplicate keys are errors (`yaml.duplicate-key`);
- aliases are allowed but expansion is bounded (`yaml.alias-limit`) and nesting depth is bounded (`yaml.depth`),
  so a "billion laughs" document is rejected after a bounded amount of work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from reconciler.core.load.problems import Position, Problem
from reconciler.core.load.source import MAX_FILE_BYTES

MAX_VALUES = 100_000  # values built per document, aliases counted every time they are expanded
MAX_DEPTH = 64

Path = tuple[str | int, ...]

_CORE = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_CORE}{t}" for t in ("str", "int", "float", "bool", "null", "timestamp")}
_NULLS = {"", "~", "null", "Null", "NULL"}

try:  # the C parser when libyaml is present; composing (not constructing) is safe with either
    _Loader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment,unused-ignore]
except AttributeError:  # pragma: no cover
    _Loader = yaml.SafeLoader


@dataclass(frozen=True)
class YamlDocument:
    path: str
    data: dict[str, Any]
    positions: dict[Path, Position] = field(default_factory=dict)  # where each value starts
    key_positions: dict[Path, Position] = field(default_factory=dict)  # where each mapping key starts

    def position(self, path: Path, *, prefer_key: bool = False) -> Position:
        """The closest known position: the longest prefix of `path` that exists."""
        for end in range(len(path), -1, -1):
            prefix = path[:end]
            if prefer_key and prefix in self.key_positions:
                return self.key_positions[prefix]
            if prefix in self.positions:
                return self.positions[prefix]
        return Position(1, 1)


class _Reject(Exception):
    def __init__(self, code: str, message: str, mark: yaml.Mark | None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.mark = mark


def _pos(mark: yaml.Mark | None) -> Position:
    return Position(mark.line + 1, mark.column + 1) if mark is not None else Position(1, 1)


def decode(path: str, data: bytes) -> str | Problem:
    if len(data) > MAX_FILE_BYTES:
        return Problem(path, 0, 0, "yaml.too-large", f"file is {len(data)} bytes; the limit is {MAX_FILE_BYTES}")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        return Problem(
            path,
            line,
            column,
            "yaml.encoding",
            f"not UTF-8: byte 0x{data[exc.start]:02x} cannot be decoded; save the file as UTF-8",
        )


def read_document(path: str, source: str | bytes) -> YamlDocument | Problem:
    """A document's bytes (or text) → its plain data and positions, or the first problem, positioned.

    Text is read as its UTF-8 bytes would be, so the size limit and encoding rules are the same either way."""
    data = source.encode("utf-8", "surrogatepass") if isinstance(source, str) else source
    text = decode(path, data)
    if isinstance(text, Problem):
        return text
    try:
        nodes = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = _pos(mark)
        reason = " ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
        return Problem(path, where.line, where.column, "yaml.syntax", reason)
    except yaml.YAMLError as exc:  # e.g. a reader error on control characters
        return Problem(path, 0, 0, "yaml.syntax", str(exc).splitlines()[0])
    nodes = [n for n in nodes if n is not None]
    if not nodes:
        return Problem(path, 1, 1, "yaml.empty", "the file holds no YAML document")
    if len(nodes) > 1:
        where = _pos(nodes[1].start_mark)
        return Problem(
            path, where.line, where.column, "yaml.multiple-documents", "one document per file, found more ('---')"
        )
    root = nodes[0]
    if not isinstance(root, yaml.MappingNode):
        where = _pos(root.start_mark)
        return Problem(path, where.line, where.column, "yaml.not-a-mapping", "the top level must be a mapping of keys")
    builder = _Builder()
    try:
        value = builder.build(root, (), 0)
    except _Reject as exc:
        where = _pos(exc.mark)
        return Problem(path, where.line, where.column, exc.code, exc.message)
    assert isinstance(value, dict)
    return YamlDocument(path, value, builder.positions, builder.key_positions)


class _Builder:
    def __init__(self) -> None:
        self.count = 0
        self.positions: dict[Path, Position] = {}
        self.key_positions: dict[Path, Position] = {}
        self._scalars = yaml.SafeLoader("")  # only its scalar constructors are used

    def build(self, node: yaml.Node, path: Path, depth: int) -> Any:
        self.count += 1
        if self.count > MAX_VALUES:
            raise _Reject(
                "yaml.alias-limit",
                f"the document expands to more than {MAX_VALUES} values (aliases are expanded each time they are used)",
                node.start_mark,
            )
        if depth > MAX_DEPTH:
            raise _Reject(
                "yaml.depth", f"nesting deeper than {MAX_DEPTH} levels (or a recursive alias)", node.start_mark
            )
        self.positions.setdefault(path, _pos(node.start_mark))
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != f"{_CORE}seq":
                raise _Reject("yaml.tag", f"tag {node.tag!r} is not allowed: only plain YAML values", node.start_mark)
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth)
        raise _Reject("yaml.syntax", "unsupported YAML node", node.start_mark)  # pragma: no cover

    def _mapping(self, node: yaml.MappingNode, path: Path, depth: int) -> dict[str, Any]:
        if node.tag != f"{_CORE}map":
            raise _Reject("yaml.tag", f"tag {node.tag!r} is not allowed: only plain YAML values", node.start_mark)
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == f"{_CORE}merge":
                raise _Reject(
                    "yaml.merge-key", "merge keys ('<<') are not supported: write the keys out", key_node.start_mark
                )
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != f"{_CORE}str":
                raise _Reject(
                    "yaml.key",
                    "keys must be plain strings (quote keys such as 'on', 'yes' or numbers)",
                    key_node.start_mark,
                )
            key = str(key_node.value)
            if key in result:
                first = self.key_positions[(*path, key)]
                raise _Reject(
                    "yaml.duplicate-key",
                    f"duplicate key {key!r} (first defined at line {first.line}, column {first.column})",
                    key_node.start_mark,
                )
            self.key_positions[(*path, key)] = _pos(key_node.start_mark)
            result[key] = self.build(value_node, (*path, key), depth + 1)
        return result

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        tag = node.tag
        if tag not in _SCALAR_TAGS:
            raise _Reject("yaml.tag", f"tag {tag!r} is not allowed: only plain YAML values", node.start_mark)
        if tag.endswith(("str", "timestamp")):  # timestamps stay text; the schema parses them
            return str(node.value)
        kind = tag.removeprefix(_CORE)
        if kind == "null" and node.value not in _NULLS:
            raise _Reject("yaml.bad-scalar", f"{node.value!r} is not a valid !!null value", node.start_mark)
        constructor = getattr(self._scalars, f"construct_yaml_{kind}")
        try:
            return constructor(node)
        except (ValueError, KeyError, IndexError, OverflowError):  # an explicit tag on text it cannot hold
            raise _Reject("yaml.bad-scalar", f"{node.value!r} is not a valid !!{kind} value", node.start_mark) from None
