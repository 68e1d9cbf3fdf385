"""Render a server config dict (`reconciler.core.nats.server`) in nats-server's config file syntax.

Strings are written JSON-quoted (nats-server's parser accepts JSON string escapes), except a whole-string
`<< $NAME >>`, which is written bare as `$NAME`: a variable nats-server resolves from its environment. Keys that
are not plain identifiers (subjects in `mappings`) are quoted. The output is deterministic: dict order is kept.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence

_BARE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_VARIABLE = re.compile(r"^<< (\$[A-Za-z_][A-Za-z0-9_]*) >>$")
_INDENT = "  "


class ConfRenderError(ValueError):
    """A value that has no nats-server config spelling (the message names its path in the dict)."""


def _scalar(value: object, path: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        variable = _VARIABLE.match(value)
        return variable.group(1) if variable else json.dumps(value)
    raise ConfRenderError(f"{path}: cannot render a {type(value).__name__} in a nats-server config")


def _key(key: object, path: str) -> str:
    if not isinstance(key, str) or not key:
        raise ConfRenderError(f"{path}: config keys are non-empty strings, got {key!r}")
    return key if _BARE_KEY.match(key) else json.dumps(key)


def _value(value: object, depth: int, path: str) -> str:
    pad, inner = _INDENT * depth, _INDENT * (depth + 1)
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        body = "\n".join(f"{inner}{_key(k, path)}: {_value(v, depth + 1, f'{path}.{k}')}" for k, v in value.items())
        return "{\n" + body + f"\n{pad}}}"
    if isinstance(value, Sequence) and not isinstance(value, str):
        if not value:
            return "[]"
        body = "\n".join(f"{inner}{_value(v, depth + 1, f'{path}[{i}]')}" for i, v in enumerate(value))
        return "[\n" + body + f"\n{pad}]"
    return _scalar(value, path)


def render_conf(config: Mapping[str, object]) -> str:
    lines = ["# Rendered by edgeops from the fleet's desired state; edits are overwritten."]
    lines += [f"{_key(k, k)}: {_value(v, 0, k)}" for k, v in config.items()]
    return "\n".join(lines) + "\n"
