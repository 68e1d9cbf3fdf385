"""The template fleet: valid from the working tree and from a git commit, with identical results; it has what the
template promises (regions, hardware mix, models, policies, a canary in progress); editor schemas are current and
referenced from every template file."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.app.desired import load_desired
from reconciler.core.spec.jsonschema import json_schemas
from tests.fixtures.template_repo import REPO_ROOT

pytestmark = pytest.mark.unit


def test_template_is_valid_from_the_working_tree() -> None:
    result = load_desired(REPO_ROOT)
    assert result.errors == (), "\n".join(map(str, result.errors))
    spec = result.spec
    assert spec is not None
    assert len(spec.fleet.spec.regions) == 2
    assert len(spec.zones) >= 5
    targets = {(z.spec.hardware.arch, z.spec.hardware.accelerator) for z in spec.zones}
    assert {("amd64", "none"), ("arm64", "jetson"), ("arm64", "none")} <= targets
    assert {"fraud-scoring", "sensor-anomaly"} <= set(spec.models)
    assert len(spec.policies) >= 2
    assert any(a.canary is not None for z in spec.zones for a in z.spec.models)


def test_working_tree_and_commit_give_the_same_result(template_git_repo: Callable[[], tuple[Path, str]]) -> None:
    path, sha = template_git_repo()
    from_tree = load_desired(path)
    from_commit = load_desired(path, "HEAD")
    assert from_commit.revision == sha
    assert from_tree.spec == from_commit.spec
    assert from_tree.problems == from_commit.problems


def test_a_commit_is_read_without_the_working_tree(template_git_repo: Callable[[], tuple[Path, str]]) -> None:
    path, sha = template_git_repo()
    (path / "zones/eu-west/ams-01.yaml").write_text("not: [valid\n", encoding="utf-8")  # uncommitted damage
    assert load_desired(path, sha).ok
    assert not load_desired(path).ok


@pytest.mark.parametrize("name", sorted(json_schemas()))
def test_committed_json_schemas_are_current(name: str) -> None:
    committed = (REPO_ROOT / "fleet/schemas" / name).read_text(encoding="utf-8")
    assert committed == json_schemas()[name], "run: edgeops schema"
    assert json.loads(committed)["additionalProperties"] is False


def test_every_template_file_points_editors_at_its_schema() -> None:
    files = [REPO_ROOT / "fleet/fleet.yaml", *(REPO_ROOT / "fleet/policies").glob("*.yaml")]
    files += [*(REPO_ROOT / "zones").glob("*/*.yaml"), *(REPO_ROOT / "models").glob("*/model.yaml")]
    for file in files:
        first = file.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema="), file
        schema = (file.parent / first.split("=", 1)[1]).resolve()
        assert schema.is_file(), f"{file}: {schema} does not exist"
