"""Rendered NodePool (apps.openyurt.io/v1beta2) and HelmChart (helm.cattle.io/v1) objects validate against the
upstream CRDs' openAPIV3Schema in ../shared/crds (skipped, with the reason, when that folder is absent).

Matrix: every NodePool and HelmChart of every template zone; a deliberately wrong object is refused (the check
can fail).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from reconciler.app.desired import load_desired
from reconciler.core.render import render_zone

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[3]
CRDS = REPO.parent / "shared" / "crds"
FILES = {
    ("apps.openyurt.io/v1beta2", "NodePool"): "apps.openyurt.io_nodepools.yaml",
    ("helm.cattle.io/v1", "HelmChart"): "helm.cattle.io_helmcharts.yaml",
}


def _schema(api_version: str, kind: str) -> dict[str, Any]:
    path = CRDS / FILES[(api_version, kind)]
    if not path.is_file():
        pytest.skip(f"upstream CRDs not found at {CRDS} (see DESIGN.md section 5)")
    crd = yaml.safe_load(path.read_text())
    version = api_version.split("/")[1]
    found = next(v for v in crd["spec"]["versions"] if v["name"] == version)
    schema: dict[str, Any] = found["schema"]["openAPIV3Schema"]
    return schema


def _rendered(kind: str) -> list[dict[str, Any]]:
    loaded = load_desired(REPO)
    assert loaded.spec is not None
    return [m.obj() for z in loaded.spec.zones for m in render_zone(loaded.spec, z, "r") if m.ref.kind == kind]


@pytest.mark.parametrize(("api_version", "kind"), list(FILES))
def test_rendered_objects_match_the_upstream_crd(api_version: str, kind: str) -> None:
    schema = _schema(api_version, kind)
    objects = _rendered(kind)
    assert objects
    for obj in objects:
        assert obj["apiVersion"] == api_version
        jsonschema.Draft7Validator(schema).validate(obj)


def test_the_schema_check_refuses_a_wrong_object() -> None:
    schema = _schema("apps.openyurt.io/v1beta2", "NodePool")
    wrong = {**_rendered("NodePool")[0], "spec": {"type": 3, "labels": {"a": 1}}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(schema).validate(wrong)
