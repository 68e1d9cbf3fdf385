"""Push and edge pull against a real distribution registry (Debian docker-registry on loopback):

- push → OCI manifest with edgeops media types and annotations, version tag, digest recorded in model.yaml;
- pull by digest round trip (bytes identical, second ensure served from the verified cache);
- a released version is immutable (another build under the same version is refused before any upload);
- a tampered blob in the registry's storage is rejected, never placed, counted as a verification failure;
- an unknown digest is a not-found failure, a ref without a registry host a reference failure;
- the CLI exit codes for push (0 ok, 1 registry unreachable, 2 bad input).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from reconciler.app.modelops.model_yaml import ModelDocument, ModelYamlError
from reconciler.app.modelops.push import push_model_version
from reconciler.core.modelops.oci import (
    ANNOTATION_MODEL,
    ANNOTATION_MODEL_VERSION,
    ANNOTATION_OPSET,
    ANNOTATION_VERSION,
    CONFIG_MEDIA_TYPE,
    MANIFEST_MEDIA_TYPE,
    ONNX_LAYER_MEDIA_TYPE,
)
from reconciler.shells.registry import RegistryClient, parse_registry
from runtime.artifacts import ArtifactNotFound, BadReference, ModelPuller, PullMetrics, VerificationFailed
from tests.fixtures.model_source import make_model_dir
from tests.fixtures.registry import LocalRegistry

pytestmark = pytest.mark.integration


def _puller(tmp_path: Path) -> tuple[ModelPuller, CollectorRegistry]:
    registry = CollectorRegistry()
    return ModelPuller(tmp_path / "edge-models", metrics=PullMetrics(registry), timeout_s=20), registry


async def test_push_then_pull_by_digest(oci_registry: LocalRegistry, tiny_model_dir: Path, tmp_path: Path) -> None:
    location = parse_registry(f"{oci_registry.host}/edge-models")
    outcome = push_model_version(tiny_model_dir, "1.0.0", registries=[location])

    pushed = outcome.pushed[0]
    assert pushed.repository == "edge-models/tiny-scorer"
    manifest = RegistryClient(location).manifest(pushed.repository, "1.0.0")
    assert manifest["mediaType"] == MANIFEST_MEDIA_TYPE
    assert manifest["config"]["mediaType"] == CONFIG_MEDIA_TYPE
    assert [(layer["mediaType"], layer["digest"]) for layer in manifest["layers"]] == [
        (ONNX_LAYER_MEDIA_TYPE, outcome.digest)
    ]
    assert manifest["annotations"][ANNOTATION_MODEL] == "tiny-scorer"
    assert manifest["annotations"][ANNOTATION_VERSION] == "1.0.0"
    assert manifest["annotations"][ANNOTATION_MODEL_VERSION] == "1.0.0"
    assert manifest["annotations"][ANNOTATION_OPSET] == "17"
    # The same manifest is addressable by the digest we computed before pushing.
    by_digest = RegistryClient(location).manifest(pushed.repository, pushed.manifest_digest)
    assert by_digest == manifest

    recorded = ModelDocument(tiny_model_dir / "model.yaml").model.spec.version("1.0.0")
    assert recorded is not None
    assert recorded.artifact.digest == outcome.digest
    assert recorded.artifact.size == outcome.build.manifest.size
    assert recorded.artifact.placeholder is False
    assert recorded.artifact.ref == "edge-models/tiny-scorer:1.0.0"

    puller, metrics = _puller(tmp_path)
    ref = f"{oci_registry.host}/{recorded.artifact.ref}"
    path = await puller.ensure(ref, outcome.digest, model="tiny-scorer")
    assert path.read_bytes() == outcome.build.data
    assert path.name == outcome.digest.removeprefix("sha256:") + ".onnx"
    again = await puller.ensure(ref, outcome.digest, model="tiny-scorer")
    assert again == path
    assert metrics.get_sample_value("edgeops_model_pulls_total", {"model": "tiny-scorer", "source": "registry"}) == 1
    assert metrics.get_sample_value("edgeops_model_pulls_total", {"model": "tiny-scorer", "source": "cache"}) == 1
    assert puller.status("tiny-scorer").digest == outcome.digest
    assert not list(path.parent.glob(".*.part"))


async def test_pushing_again_is_idempotent_but_a_released_version_is_immutable(
    oci_registry: LocalRegistry, tiny_model_dir: Path
) -> None:
    location = parse_registry(f"{oci_registry.host}/edge-models")
    first = push_model_version(tiny_model_dir, "1.0.0", registries=[location])
    before = (tiny_model_dir / "model.yaml").read_text()
    second = push_model_version(tiny_model_dir, "1.0.0", registries=[location])
    assert second.pushed[0].manifest_digest == first.pushed[0].manifest_digest
    assert (tiny_model_dir / "model.yaml").read_text() == before

    make_model_dir(tiny_model_dir, seed=99).joinpath("model.yaml").write_text(before)  # new weights, same yaml
    with pytest.raises(ModelYamlError, match=r"released as .* immutable"):
        push_model_version(tiny_model_dir, "1.0.0", registries=[location])
    newer = push_model_version(tiny_model_dir, "1.1.0", registries=[location])
    versions = ModelDocument(tiny_model_dir / "model.yaml").model.spec.versions
    assert [(v.version, v.artifact.digest) for v in versions] == [("1.0.0", first.digest), ("1.1.0", newer.digest)]


async def test_tampered_blob_is_rejected_and_never_placed(
    oci_registry: LocalRegistry, tiny_model_dir: Path, tmp_path: Path
) -> None:
    location = parse_registry(f"{oci_registry.host}/edge-models")
    outcome = push_model_version(tiny_model_dir, "1.0.0", registries=[location], record=False)
    blob = oci_registry.blob_data_path(outcome.digest)
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same length, one flipped byte
    blob.write_bytes(bytes(data))

    puller, metrics = _puller(tmp_path)
    with pytest.raises(VerificationFailed, match="hashes to sha256:"):
        await puller.ensure(f"{oci_registry.host}/edge-models/tiny-scorer:1.0.0", outcome.digest, model="tiny")
    assert not puller.target_path(outcome.digest).exists()
    assert list((tmp_path / "edge-models").iterdir()) == []  # no partial file left either
    assert (
        metrics.get_sample_value("edgeops_model_pull_failures_total", {"model": "tiny", "reason": "verification"}) == 1
    )
    assert puller.status("tiny").last_error_reason == "verification"


async def test_unknown_digest_and_bad_ref_are_counted(oci_registry: LocalRegistry, tmp_path: Path) -> None:
    puller, metrics = _puller(tmp_path)
    missing = "sha256:" + "e" * 64
    with pytest.raises(ArtifactNotFound, match="404"):
        await puller.ensure(f"{oci_registry.host}/edge-models/none:1.0.0", missing, model="m")
    with pytest.raises(BadReference, match="no registry host"):
        await puller.ensure("edge-models/none:1.0.0", missing, model="m")
    for reason in ("not_found", "reference"):
        assert metrics.get_sample_value("edgeops_model_pull_failures_total", {"model": "m", "reason": reason}) == 1
    assert puller.status("m").consecutive_failures == 2


def _edgeops(*args: str) -> subprocess.CompletedProcess[str]:
    cli = Path(sys.executable).with_name("edgeops")
    return subprocess.run(
        [str(cli), *args], capture_output=True, text=True, timeout=300, check=False, env={**os.environ}
    )


def test_push_cli_exit_codes(oci_registry: LocalRegistry, tiny_model_dir: Path) -> None:
    ok = _edgeops("model", "push", str(tiny_model_dir), "--version", "1.0.0", "--registry", f"{oci_registry.host}/m")
    assert ok.returncode == 0, ok.stderr
    digest = ok.stdout.strip().splitlines()[-1]
    assert digest == ModelDocument(tiny_model_dir / "model.yaml").model.spec.versions[0].artifact.digest

    bad = _edgeops("model", "push", str(tiny_model_dir), "--version", "not a tag", "--registry", oci_registry.host)
    assert bad.returncode == 2
    assert "not a tag" in bad.stderr

    oci_registry.stop()
    down = _edgeops("model", "push", str(tiny_model_dir), "--version", "1.0.1", "--registry", oci_registry.host)
    assert down.returncode == 1
    assert oci_registry.host in down.stderr
