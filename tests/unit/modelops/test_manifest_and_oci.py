"""Build manifest and OCI artifact values: digest/size/opset/IO signature read from ONNX bytes; media types,
annotations, tags and manifest digests (deterministic, layer digest = build digest); bad input refused."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

import pytest

from reconciler.core.modelops.manifest import ManifestError, describe_onnx
from reconciler.core.modelops.oci import (
    ANNOTATION_MODEL,
    ANNOTATION_OPSET,
    ANNOTATION_VERSION,
    CONFIG_MEDIA_TYPE,
    MANIFEST_MEDIA_TYPE,
    ONNX_LAYER_MEDIA_TYPE,
    ArtifactNameError,
    build_artifact,
    repository_for,
    tag_for_version,
)
from tests.fixtures.model_source import make_model_dir

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def onnx_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    folder = make_model_dir(tmp_path_factory.mktemp("m") / "tiny-scorer")
    spec = importlib.util.spec_from_file_location("tiny_build_for_unit", folder / "build.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    data: bytes = module.build_onnx()
    return data


def test_manifest_reads_digest_size_opset_and_signature(onnx_bytes: bytes) -> None:
    manifest = describe_onnx(onnx_bytes)
    assert manifest.digest == "sha256:" + hashlib.sha256(onnx_bytes).hexdigest()
    assert manifest.size == len(onnx_bytes)
    assert manifest.opset == 17
    assert [(t.name, t.dtype, t.shape) for t in manifest.inputs] == [("features", "float32", ("batch", 4))]
    assert [(t.name, t.dtype, t.shape) for t in manifest.outputs] == [("score", "float32", ("batch", 1))]
    # Initializers (weights) are not inputs.
    assert "W" not in {t.name for t in manifest.inputs}


def test_manifest_json_is_byte_stable(onnx_bytes: bytes) -> None:
    first, second = describe_onnx(onnx_bytes).to_json(), describe_onnx(onnx_bytes).to_json()
    assert first == second
    assert json.loads(first)["digest"].startswith("sha256:")


@pytest.mark.parametrize(("data", "message"), [(b"", "empty"), (b"not a model at all", "not a valid ONNX model")])
def test_manifest_refuses_bytes_that_are_not_onnx(data: bytes, message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        describe_onnx(data)


def test_artifact_uses_edgeops_media_types_and_annotations(onnx_bytes: bytes) -> None:
    manifest = describe_onnx(onnx_bytes)
    artifact = build_artifact(model="tiny-scorer", version="1.2.0", manifest=manifest, repository="edge-models/tiny")
    document = artifact.manifest()
    assert document["mediaType"] == MANIFEST_MEDIA_TYPE
    assert document["config"]["mediaType"] == CONFIG_MEDIA_TYPE
    assert [layer["mediaType"] for layer in document["layers"]] == [ONNX_LAYER_MEDIA_TYPE]
    assert document["layers"][0]["digest"] == manifest.digest
    assert document["layers"][0]["size"] == manifest.size
    annotations = document["annotations"]
    assert annotations[ANNOTATION_MODEL] == "tiny-scorer"
    assert annotations[ANNOTATION_VERSION] == "1.2.0"
    assert annotations[ANNOTATION_OPSET] == "17"
    assert "org.opencontainers.image.created" not in annotations  # no wall clock: same bytes, same digest
    config = json.loads(artifact.config_bytes)
    assert config["artifact"]["digest"] == manifest.digest
    assert artifact.config.digest == "sha256:" + hashlib.sha256(artifact.config_bytes).hexdigest()


def test_manifest_digest_is_deterministic_and_tracks_the_version(onnx_bytes: bytes) -> None:
    manifest = describe_onnx(onnx_bytes)
    one = build_artifact(model="m", version="1.0.0", manifest=manifest)
    again = build_artifact(model="m", version="1.0.0", manifest=manifest)
    other = build_artifact(model="m", version="1.0.1", manifest=manifest)
    assert one.manifest_bytes() == again.manifest_bytes()
    assert one.manifest_digest() == "sha256:" + hashlib.sha256(one.manifest_bytes()).hexdigest()
    assert other.manifest_digest() != one.manifest_digest()
    assert one.repository == repository_for("m") == "edgeops/models/m"


def test_tags_from_versions() -> None:
    assert tag_for_version("1.2.0") == "1.2.0"
    assert tag_for_version("1.2.0+build.7") == "1.2.0_build.7"
    with pytest.raises(ArtifactNameError, match="cannot be an OCI tag"):
        tag_for_version("-1.0")
    with pytest.raises(ArtifactNameError, match="valid OCI name"):
        repository_for("Bad Name")


def test_artifact_repository_is_checked(tmp_path: Path, onnx_bytes: bytes) -> None:
    with pytest.raises(ArtifactNameError, match="UPPER"):
        build_artifact(model="m", version="1.0.0", manifest=describe_onnx(onnx_bytes), repository="UPPER/m")
