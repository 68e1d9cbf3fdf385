"""GitHub's OpenAPI description (npm `@octokit/openapi`) as the source of every fake reply.

`OpenApi.reply(method, template, status, overlay)` builds a complete object for the operation's response schema
(every property present, so github3.py never raises IncompleteResponse), deep-merges the server's real state
(`overlay`) over it, and validates the result against the schema; a reply that does not match raises
`SchemaViolation`, which the server turns into a 500 and records so the test fails. Error replies are checked
against GitHub's error shapes (`validate_error`).
"""

from __future__ import annotations

import copy
import json
import os
from functools import cache
from pathlib import Path
from typing import Any

SPEC_FILE = "@octokit/openapi/generated/api.github.com.json"
MAX_DEPTH = 7


class SchemaViolation(AssertionError):
    pass


def spec_path() -> Path:
    root = os.environ.get("EDGEOPS_NODE_MODULES")
    if not root:
        raise FileNotFoundError("EDGEOPS_NODE_MODULES is not set (source tests/env/common.sh)")
    path = Path(root) / SPEC_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run bash tests/env/bootstrap.sh (npm @octokit/openapi)")
    return path


def _nullable_to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0's `nullable: true` → JSON Schema's anyOf-with-null, recursively."""
    if isinstance(node, list):
        return [_nullable_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {k: _nullable_to_json_schema(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable") is True:
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


class OpenApi:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.schemas: dict[str, Any] = document["components"]["schemas"]
        self._components = _nullable_to_json_schema(document["components"]["schemas"])
        self._skeletons: dict[str, Any] = {}

    @classmethod
    @cache
    def load(cls) -> OpenApi:
        return cls(json.loads(spec_path().read_text()))

    def response_schema(self, method: str, template: str, status: int) -> dict[str, Any]:
        try:
            operation = self.document["paths"][template][method.lower()]
            return dict(operation["responses"][str(status)]["content"]["application/json"]["schema"])
        except KeyError as error:
            raise SchemaViolation(f"GitHub's description has no JSON {status} reply for {method} {template}") from error

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.schemas[schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    def example(self, schema: dict[str, Any], depth: int = 0) -> Any:
        """A complete value for `schema`: every declared property, placeholder values by type and format."""
        ref = schema.get("$ref")
        if ref is not None and depth == 0 and ref in self._skeletons:
            return copy.deepcopy(self._skeletons[ref])
        resolved = self._resolve(schema)
        value = self._example(resolved, depth)
        if ref is not None and depth == 0:
            self._skeletons[ref] = copy.deepcopy(value)
        return value

    def _example(self, schema: dict[str, Any], depth: int) -> Any:  # noqa: PLR0912 - a branch per schema form
        if "allOf" in schema:
            merged: dict[str, Any] = {}
            for part in schema["allOf"]:
                part_value = self.example(part, depth)
                if isinstance(part_value, dict):
                    merged.update(part_value)
            return merged
        for key in ("oneOf", "anyOf"):
            if key in schema:
                options = [o for o in schema[key] if self._resolve(o).get("type") != "null"]
                return self.example(options[0], depth) if options else None
        if schema.get("nullable") and depth >= MAX_DEPTH - 2:
            return None
        kind = schema.get("type")
        if "enum" in schema:
            return next((v for v in schema["enum"] if v is not None), None)
        if kind == "object" or "properties" in schema:
            if depth >= MAX_DEPTH:
                return {}
            return {name: self.example(prop, depth + 1) for name, prop in schema.get("properties", {}).items()}
        if kind == "array":
            return []
        if kind == "integer":
            return 1
        if kind == "number":
            return 1.0
        if kind == "boolean":
            return False
        if kind == "string":
            return {
                "date-time": "2026-01-01T00:00:00Z",
                "uri": "https://github.invalid/unused",
                "email": "nobody@example.invalid",
            }.get(schema.get("format", ""), "x" * max(1, int(schema.get("minLength", 1))))
        return None

    def _shape(self, schema: dict[str, Any]) -> dict[str, Any]:
        """The schema to fill a value from: refs resolved, the first non-null oneOf/anyOf, allOf merged."""
        schema = self._resolve(schema)
        for key in ("oneOf", "anyOf"):
            if key in schema:
                options = [o for o in schema[key] if self._resolve(o).get("type") != "null"]
                if options:
                    return self._shape(options[0])
        if "allOf" in schema:
            properties: dict[str, Any] = {}
            for part in schema["allOf"]:
                properties.update(self._shape(part).get("properties", {}))
            return {"type": "object", "properties": properties}
        return schema

    def fill(self, schema: dict[str, Any], overlay: Any) -> Any:
        """`overlay` completed from `schema`: missing properties generated, nested objects and list items too."""
        shape = self._shape(schema)
        if isinstance(overlay, dict) and ("properties" in shape or shape.get("type") == "object"):
            base = self.example(schema)
            result = dict(base) if isinstance(base, dict) else {}
            properties = shape.get("properties", {})
            for key, value in overlay.items():
                result[key] = self.fill(properties[key], value) if key in properties else value
            return result
        if isinstance(overlay, list) and "items" in shape:
            return [self.fill(shape["items"], item) for item in overlay]
        return copy.deepcopy(overlay)

    def reply(self, method: str, template: str, status: int, overlay: Any) -> Any:
        schema = self.response_schema(method, template, status)
        body = self.fill(schema, overlay)
        self.validate(schema, body, f"{method} {template} {status}")
        return body

    def validate_error(self, status: int, body: Any) -> None:
        """An error reply as GitHub shapes it: `validation-error` for a 422, else `basic-error`."""
        name = "validation-error" if status == 422 else "basic-error"
        self.validate({"$ref": f"#/components/schemas/{name}"}, body, f"a {status} reply")

    def validate(self, schema: dict[str, Any], body: Any, what: str) -> None:
        root = {"components": {"schemas": self._components}, "allOf": [_nullable_to_json_schema(schema)]}
        import jsonschema  # a development dependency: the sandbox's environment is the development one

        errors = sorted(jsonschema.Draft4Validator(root).iter_errors(body), key=lambda e: list(e.absolute_path))
        if errors:
            detail = "; ".join(
                f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:200]}" for e in errors[:5]
            )
            raise SchemaViolation(f"reply to {what} does not match GitHub's description: {detail}")
