"""A parsed YAML document → a typed spec object, with pydantic's errors turned into positioned problems."""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import BaseModel, ValidationError

from reconciler.core.load.problems import Problem
from reconciler.core.load.yamldoc import YamlDocument
from reconciler.core.spec import API_VERSION, KINDS

_TYPE_ERRORS = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "bool_type": "true or false",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "tuple_type": "a list",
    "list_type": "a list",
    "datetime_type": "a timestamp",
    "datetime_parsing": "an ISO 8601 timestamp such as 2026-11-20T10:00:00Z",
    "datetime_from_date_parsing": "an ISO 8601 timestamp such as 2026-11-20T10:00:00Z",
}


def _known_keys(model: type[BaseModel]) -> set[str]:
    """Every key any (nested) document of this kind may use: the vocabulary for 'did you mean'."""
    seen: set[type[BaseModel]] = set()
    keys: set[str] = set()

    def walk(cls: type[BaseModel]) -> None:
        if cls in seen:
            return
        seen.add(cls)
        for name, info in cls.model_fields.items():
            keys.add(info.alias or name)
            for arg in _model_args(info.annotation):
                walk(arg)

    walk(model)
    return keys


def _model_args(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in getattr(annotation, "__args__", ()) or ():
        found.extend(_model_args(arg))
    return found


def describe_path(loc: tuple[str | int, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "document"


def _problem(doc: YamlDocument, error: Any, vocabulary: set[str]) -> Problem:
    loc: tuple[str | int, ...] = tuple(error["loc"])
    kind: str = error["type"]
    where = describe_path(loc)
    if kind == "missing":
        parent = loc[:-1]
        pos = doc.position(parent)
        return Problem(
            doc.path,
            pos.line,
            pos.column,
            "schema.missing-field",
            f"{describe_path(parent)}: required key {loc[-1]!r} is missing",
        )
    if kind == "extra_forbidden":
        pos = doc.position(loc, prefer_key=True)
        key = str(loc[-1])
        hint = difflib.get_close_matches(key, sorted(vocabulary), n=1)
        suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
        return Problem(
            doc.path, pos.line, pos.column, "schema.unknown-field", f"{where}: unknown key {key!r}{suggestion}"
        )
    pos = doc.position(loc)
    if kind in _TYPE_ERRORS:
        got = type(error.get("input")).__name__
        got = {"NoneType": "null", "dict": "a mapping", "list": "a list", "str": "a string", "bool": "a boolean"}.get(
            got, got
        )
        return Problem(
            doc.path, pos.line, pos.column, "schema.wrong-type", f"{where}: expected {_TYPE_ERRORS[kind]}, got {got}"
        )
    if kind == "timezone_aware":
        return Problem(
            doc.path,
            pos.line,
            pos.column,
            "schema.naive-timestamp",
            f"{where}: {error.get('input')!r} has no time zone: end it with Z for UTC "
            "(2026-11-20T10:00:00Z) or an offset (2026-11-20T11:00:00+01:00)",
        )
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return Problem(
            doc.path,
            pos.line,
            pos.column,
            "schema.invalid-value",
            f"{where}: {error['input']!r} is not one of {expected}",
        )
    message = str(error["msg"]).removeprefix("Value error, ")
    # A rule with its own code (`spec.zone.field_error`) keeps it; anything else is an invalid value.
    code = kind if kind.startswith("schema.") else "schema.invalid-value"
    return Problem(doc.path, pos.line, pos.column, code, f"{where}: {message}")


def validate(doc: YamlDocument, expected_kind: str) -> BaseModel | list[Problem]:
    """Check apiVersion and kind for this location, then the schema of that kind; all problems at once."""
    data = doc.data
    api = data.get("apiVersion")
    kind = data.get("kind")
    header: list[Problem] = []
    if api is None:
        header.append(Problem(doc.path, 1, 1, "document.api-version", f"missing 'apiVersion: {API_VERSION}'"))
    elif api != API_VERSION:
        pos = doc.position(("apiVersion",))
        header.append(
            Problem(
                doc.path,
                pos.line,
                pos.column,
                "document.api-version",
                f"apiVersion {api!r} is not supported; use {API_VERSION!r}",
            )
        )
    if kind is None:
        header.append(Problem(doc.path, 1, 1, "document.kind", f"missing 'kind: {expected_kind}'"))
    elif kind != expected_kind:
        pos = doc.position(("kind",))
        header.append(
            Problem(
                doc.path,
                pos.line,
                pos.column,
                "document.kind",
                f"a {kind!r} document does not belong here; this path holds a {expected_kind}",
            )
        )
    if header:
        return header
    model = KINDS[expected_kind]
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        vocabulary = _known_keys(model)
        return [_problem(doc, e, vocabulary) for e in exc.errors(include_url=False)]
