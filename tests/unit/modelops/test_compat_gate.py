"""Validation gate on compat results, end to end through the template fleet: a version's compat is edited with
the same round-trip editor `edgeops model compat` uses, then the desired state is loaded.

Matrix: the WASM-only zone (zones/us-east/chi-03.yaml, hardware.runtime: wasm) pins fraud-scoring 1.0.0 with
wasm: fail → rejected (error at the zone's version line, spec None); wasm: not-run → rejected; wasm: pass → no
compat problem for that zone.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reconciler.app.modelops.model_yaml import ModelDocument
from reconciler.core.load import Problem, Severity, load_tree
from reconciler.core.spec.model import Artifact, CompatResult
from reconciler.shells.tree.directory import read_directory

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[3]
WASM_ZONE = "zones/us-east/chi-03.yaml"
DIGEST = "sha256:" + "5a" * 32


@pytest.fixture
def fleet_copy(tmp_path: Path) -> Path:
    for top in ("fleet", "zones", "models"):
        shutil.copytree(REPO / top, tmp_path / top, ignore=shutil.ignore_patterns("dist", "__pycache__"))
    return tmp_path


def _release_with_wasm(root: Path, outcome: str) -> None:
    document = ModelDocument(root / "models/fraud-scoring/model.yaml")
    document.set_artifact("1.0.0", Artifact(ref="edge-models/fraud-scoring:1.0.0", digest=DIGEST, size=1339))
    for target in ("cpu", "gpu"):
        document.set_compat("1.0.0", target, CompatResult(result="pass", runtime="onnxruntime 1.32.0"))
    reason = "score differs by 3e-2" if outcome == "fail" else None
    document.set_compat("1.0.0", "wasm", CompatResult(result=outcome, reason=reason))  # type: ignore[arg-type]
    document.save()


def _wasm_zone_compat_errors(root: Path) -> tuple[list[Problem], bool]:
    result = load_tree(read_directory(root))
    errors = [
        p
        for p in result.problems
        if p.file == WASM_ZONE and p.code == "ref.compat-not-passed" and p.severity is Severity.ERROR
    ]
    return errors, result.spec is None


@pytest.mark.parametrize("outcome", ["fail", "not-run"])
def test_wasm_zone_pinning_a_version_not_passing_wasm_is_rejected(fleet_copy: Path, outcome: str) -> None:
    _release_with_wasm(fleet_copy, outcome)
    errors, rejected = _wasm_zone_compat_errors(fleet_copy)
    assert rejected
    assert len(errors) == 1
    assert f"wasm: {outcome}" in errors[0].message
    zone_lines = (fleet_copy / WASM_ZONE).read_text().splitlines()
    assert zone_lines[errors[0].line - 1].strip().startswith("version: 1.0.0")
    if outcome == "fail":
        assert "score differs by 3e-2" in errors[0].message


def test_wasm_zone_pinning_a_version_passing_wasm_has_no_compat_error(fleet_copy: Path) -> None:
    _release_with_wasm(fleet_copy, "pass")
    errors, _ = _wasm_zone_compat_errors(fleet_copy)
    assert errors == []
