"""JSON Schemas of the document kinds, for editors (yaml-language-server) and external tools.

Generated from the pydantic models so they can never drift from what the loader accepts; a unit test checks that
the committed copies under fleet/schemas/ are current (`edgeops schema` rewrites them).
"""

from __future__ import annotations

import json

from reconciler.core.spec.base import API_VERSION, StrictModel
from reconciler.core.spec.fleet import Fleet
from reconciler.core.spec.model import Model
from reconciler.core.spec.policy import CanaryPolicy
from reconciler.core.spec.zone import Zone

SCHEMA_FILES: dict[str, type[StrictModel]] = {
    "fleet.schema.json": Fleet,
    "canarypolicy.schema.json": CanaryPolicy,
    "zone.schema.json": Zone,
    "model.schema.json": Model,
}


def json_schemas() -> dict[str, str]:
    """File name → schema text (stable: the same models always give the same bytes)."""
    rendered: dict[str, str] = {}
    for filename, model in SCHEMA_FILES.items():
        schema = model.model_json_schema(by_alias=True, mode="validation")
        schema = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"https://edgeops.io/schemas/{API_VERSION.split('/')[1]}/{filename}",
            **schema,
        }
        rendered[filename] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return rendered
