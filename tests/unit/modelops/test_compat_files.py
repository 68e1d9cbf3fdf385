"""Compat results gathered from several runners: every dist/**/compat*.json for the same artifact digest is merged
(one target per file in CI); files for another build are ignored; an unreadable file is named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.app.modelops.compat import load_compat_json
from reconciler.app.modelops.model_yaml import ModelYamlError

pytestmark = pytest.mark.unit

DIGEST = "sha256:" + "12" * 32
OTHER = "sha256:" + "34" * 32


def _write(path: Path, digest: str, compat: dict[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"digest": digest, "compat": compat}))


def test_results_from_several_runners_are_merged(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    _write(dist / "compat-cpu" / "compat.json", DIGEST, {"cpu": {"result": "pass", "maxAbsDiff": 1e-7}})
    _write(dist / "compat-wasm" / "compat.json", DIGEST, {"wasm": {"result": "fail", "reason": "off"}})
    _write(dist / "compat-gpu" / "compat.json", OTHER, {"gpu": {"result": "pass"}})
    merged = load_compat_json(tmp_path, DIGEST)
    assert sorted(merged) == ["cpu", "wasm"]
    assert merged["cpu"].max_abs_diff == pytest.approx(1e-7)
    assert merged["wasm"].reason == "off"
    assert load_compat_json(tmp_path, "sha256:" + "56" * 32) == {}


def test_unreadable_results_are_named(tmp_path: Path) -> None:
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "compat.json").write_text("{not json")
    with pytest.raises(ModelYamlError, match=r"compat\.json: unreadable"):
        load_compat_json(tmp_path, DIGEST)
