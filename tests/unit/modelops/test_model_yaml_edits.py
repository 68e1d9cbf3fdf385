"""Round-trip edits of model.yaml: recording compat results and artifacts changes only the lines that carry them
(comments, flow-style lists, key order and indentation stay); a new version is appended; edits that would make the
document invalid, unknown versions, and artifacts that do not fit spec.signature are refused with the file named.
Also the choice of version a compat run records into (digest match, placeholder, released = immutable)."""

from __future__ import annotations

import difflib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from reconciler.app.modelops.compat import select_version
from reconciler.app.modelops.model_yaml import ModelDocument, ModelYamlError
from reconciler.core.modelops.manifest import ArtifactManifest, TensorSignature
from reconciler.core.spec.model import Artifact, CompatResult
from tests.fixtures.model_source import make_model_dir
from tests.fixtures.template_repo import REPO_ROOT

pytestmark = pytest.mark.unit

DIGEST = "sha256:" + "ab" * 32


def _changed_lines(before: str, after: str) -> tuple[list[str], list[str]]:
    removed, added = [], []
    for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0):
        if line.startswith(("---", "+++", "@@")):
            continue
        (removed if line.startswith("-") else added).append(line[1:])
    return removed, added


@pytest.fixture
def model_yaml(tmp_path: Path) -> Path:
    return make_model_dir(tmp_path / "tiny-scorer") / "model.yaml"


def test_recording_compat_adds_only_the_compat_lines(model_yaml: Path) -> None:
    before = model_yaml.read_text()
    document = ModelDocument(model_yaml)
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    document.set_compat("1.0.0", "cpu", CompatResult(result="pass", runtime="onnxruntime 1.32.0", checked_at=when))
    document.set_compat("1.0.0", "wasm", CompatResult(result="fail", reason="score off by 0.5", checked_at=when))
    document.save()
    removed, added = _changed_lines(before, model_yaml.read_text())
    assert removed == []
    assert [line.strip() for line in added] == [
        "compat:",
        "cpu:",
        "result: pass",
        "runtime: onnxruntime 1.32.0",
        "checkedAt: '2026-01-02T03:04:05Z'",
        "wasm:",
        "result: fail",
        "checkedAt: '2026-01-02T03:04:05Z'",
        "reason: score off by 0.5",
    ]
    reloaded = ModelDocument(model_yaml).model.spec.versions[0].compat
    assert reloaded.cpu.result == "pass"
    assert reloaded.wasm.result == "fail"
    assert reloaded.gpu.result == "not-run"


def test_rerun_replaces_values_in_place_and_drops_stale_evidence(model_yaml: Path) -> None:
    document = ModelDocument(model_yaml)
    document.set_compat("1.0.0", "wasm", CompatResult(result="fail", reason="old failure"))
    document.save()
    before = model_yaml.read_text()
    document = ModelDocument(model_yaml)
    document.set_compat("1.0.0", "wasm", CompatResult(result="pass", max_abs_diff=1e-7))
    document.save()
    removed, added = _changed_lines(before, model_yaml.read_text())
    assert [line.strip() for line in removed] == ["result: fail", "reason: old failure"]
    # `1e-07` would be text to the loader (PyYAML's floats need a dot): the number is written so it reads as one.
    assert [line.strip() for line in added] == ["result: pass", "maxAbsDiff: 1.0e-07"]
    assert ModelDocument(model_yaml).model.spec.versions[0].compat.wasm.max_abs_diff == pytest.approx(1e-7)


def test_numbers_ruamel_would_round_differently_keep_their_exact_value(tmp_path: Path) -> None:
    # ruamel writes 7.692278813919984e-08 back as 7.692278813919982e-08; the loader would see another number.
    path = tmp_path / "model.yaml"
    template = (REPO_ROOT / "models/fraud-scoring/model.yaml").read_text(encoding="utf-8")
    wasm = template.index("wasm:")  # 1.0.0's wasm evidence, with a value ruamel would round
    first_diff = template.index("maxAbsDiff: ", wasm)
    end = template.index("\n", first_diff)
    path.write_text(template[:first_diff] + "maxAbsDiff: 7.692278813919984e-08" + template[end:], encoding="utf-8")
    before = path.read_text(encoding="utf-8")
    document = ModelDocument(path)
    when = datetime(2026, 12, 1, tzinfo=UTC)
    document.set_compat("1.0.0", "cpu", CompatResult(result="pass", runtime="onnxruntime 1.32.0", checked_at=when))
    document.save()
    removed, added = _changed_lines(before, path.read_text(encoding="utf-8"))
    assert {line.strip().split(":")[0] for line in removed + added} <= {
        "provider",
        "maxAbsDiff",
        "latencyMs",
        "checkedAt",
    }
    assert "maxAbsDiff: 7.692278813919984e-08" in path.read_text(encoding="utf-8")


def test_artifact_update_drops_the_placeholder_line_once_built(model_yaml: Path) -> None:
    before = model_yaml.read_text()
    document = ModelDocument(model_yaml)
    document.set_artifact("1.0.0", Artifact(ref="edge-models/tiny-scorer:1.0.0", digest=DIGEST, size=321))
    document.save()
    removed, added = _changed_lines(before, model_yaml.read_text())
    assert [" ".join(line.split()) for line in added] == [
        f"digest: {DIGEST}",
        "size: 321",
    ]
    assert len(removed) == 3  # digest, size and the `placeholder: true` line
    assert "# A test model: comments and layout must survive every edit." in model_yaml.read_text()


def test_add_version_appends_after_the_existing_ones(model_yaml: Path) -> None:
    document = ModelDocument(model_yaml)
    document.add_version("1.1.0", Artifact(ref="edge-models/tiny-scorer:1.1.0", digest=DIGEST, size=9), opset=17)
    model = document.save()
    assert [v.version for v in model.spec.versions] == ["1.0.0", "1.1.0"]
    tail = [line.strip() for line in model_yaml.read_text().splitlines()[-7:]]
    assert tail == [
        "- version: 1.1.0",
        "format: onnx",
        "opset: 17",
        "artifact:",
        "ref: edge-models/tiny-scorer:1.1.0",
        f"digest: {DIGEST}",
        "size: 9",
    ]
    with pytest.raises(ModelYamlError, match="already exists"):
        ModelDocument(model_yaml).add_version("1.1.0", Artifact(ref="x", digest=DIGEST, size=1), opset=17)


def test_unknown_version_and_invalid_edits_are_refused(model_yaml: Path) -> None:
    document = ModelDocument(model_yaml)
    with pytest.raises(ModelYamlError, match=r"no version 9\.9\.9 .*have: 1\.0\.0"):
        document.set_compat("9.9.9", "cpu", CompatResult(result="pass"))
    before = model_yaml.read_text()
    document.tree["spec"]["tolerance"] = -1
    with pytest.raises(
        ModelYamlError,
        match=r"not a valid Model: .*model\.yaml:\d+:\d+: error\[schema\.invalid-value\] spec\.tolerance",
    ):
        document.save()
    assert model_yaml.read_text() == before  # nothing written


def test_broken_yaml_is_named(tmp_path: Path) -> None:
    path = tmp_path / "model.yaml"
    path.write_text("spec: [unclosed\n")
    with pytest.raises(ModelYamlError, match=r"model\.yaml: not valid YAML"):
        ModelDocument(path)


def _manifest(width: int, dtype: str = "float32") -> ArtifactManifest:
    return ArtifactManifest(
        digest=DIGEST,
        size=1,
        opset=17,
        ir_version=8,
        producer="t",
        inputs=(TensorSignature(name="features", dtype=dtype, shape=("batch", width)),),
        outputs=(TensorSignature(name="score", dtype="float32", shape=("batch", 1)),),
    )


def test_signature_check(model_yaml: Path) -> None:
    document = ModelDocument(model_yaml)
    document.check_signature(_manifest(4))
    with pytest.raises(ModelYamlError, match=r"shape \['batch', 9\] in the artifact, \['batch', 4\] in model\.yaml"):
        document.check_signature(_manifest(9))
    with pytest.raises(ModelYamlError, match="dtype float64 in the artifact"):
        document.check_signature(_manifest(4, "float64"))


def test_select_version_rules(model_yaml: Path) -> None:
    document = ModelDocument(model_yaml)
    # Nothing has the digest, but the latest version is a placeholder: it takes the results.
    assert select_version(document, DIGEST, None) == "1.0.0"
    document.set_artifact("1.0.0", Artifact(ref="r", digest=DIGEST, size=1))
    document.save()
    document = ModelDocument(model_yaml)
    assert select_version(document, DIGEST, None) == "1.0.0"
    other = "sha256:" + "cd" * 32
    assert select_version(document, other, None) is None
    with pytest.raises(ModelYamlError, match="released artifact"):
        select_version(document, other, "1.0.0")
