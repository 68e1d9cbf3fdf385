"""Signed model artifacts end to end, against a real registry (Debian docker-registry, no referrers API: cosign's
`sha256-<hex>.sig` tags) and the real `cosign` CLI (tests/env/install-cosign.sh):

- `edgeops model push --signing-key` signs with the encrypted key `cosign generate-key-pair` wrote; `cosign verify
  --key` accepts it and refuses it with another key; pushing again writes no second signature; a signature the
  real cosign appends beside ours leaves ours verifiable;
- `edgeops model push --signing-key-env NAME` with a PKCS#8 PEM in the variable: cosign verifies it too; a bad key
  is exit 2 before anything is uploaded;
- an artifact signed by `cosign sign --key` is verified by the edge puller and handed over (loaded and served by
  the runtime's own loader), its status says which key;
- refused, with the old model still serving and its reason in the failure metric and status: signed with another
  key, no signature, a signature copied from another digest, a tampered signature payload, a tag that names a
  signed manifest without the configured model; an artifact that
  `edgeops model push` signed afterwards is taken;
- without keys the puller still pulls, and its status says `unverified`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from prometheus_client import CollectorRegistry

from reconciler.app.modelops.push import PushOutcome, push_model_version
from reconciler.app.modelops.sign import read_signing_key
from reconciler.shells.registry import RegistryClient, RegistryLocation, parse_registry
from runtime import cosign
from runtime.artifacts import UNVERIFIED, ModelPuller, PullMetrics, PullScheduler
from runtime.config import ModelDeploymentConfig, SigningKeyConfig
from runtime.session import load_model
from tests.fixtures.cosign import Cosign, CosignKeyPair
from tests.fixtures.edge_runtime import deployment
from tests.fixtures.model_source import FEATURES, make_model_dir
from tests.fixtures.registry import LocalRegistry

pytestmark = pytest.mark.integration

TRUSTED = "fleet/keys/release.pub"
WINDOW = {
    "key": "device_id",
    "size": 8,
    "features": [{"name": f"f{i}", "op": "last", "field": f"f{i}"} for i in range(FEATURES)],
}


@pytest.fixture
def location(oci_registry: LocalRegistry) -> RegistryLocation:
    return parse_registry(f"{oci_registry.host}/edge-models")


@pytest.fixture
def release_key(cosign_keys: tuple[CosignKeyPair, CosignKeyPair], monkeypatch: pytest.MonkeyPatch) -> Path:
    """The release key file as `cosign generate-key-pair` wrote it, its password where cosign reads it."""
    monkeypatch.setenv("COSIGN_PASSWORD", cosign_keys[0].password)
    return cosign_keys[0].key


def _push(location: RegistryLocation, root: Path, version: str, seed: int, key: Path | None = None) -> PushOutcome:
    model_dir = make_model_dir(root / f"v{version}" / "tiny-scorer", seed=seed)
    signing_key = read_signing_key(key) if key is not None else None
    return push_model_version(model_dir, version, registries=[location], record=False, signing_key=signing_key)


def _pinned(outcome: PushOutcome) -> str:
    return outcome.pushed[0].pinned_ref


def _ref(outcome: PushOutcome) -> str:
    return outcome.pushed[0].ref


def _signature_layers(location: RegistryLocation, outcome: PushOutcome) -> list[tuple[str, str]]:
    pushed = outcome.pushed[0]
    raw = RegistryClient(location).find_manifest(pushed.repository, cosign.signature_tag(pushed.manifest_digest))
    assert raw is not None
    return cosign.signature_layers(json.loads(raw))


def test_cosign_verify_accepts_what_model_push_signed(
    location: RegistryLocation,
    release_key: Path,
    cosign_cli: Cosign,
    cosign_keys: tuple[CosignKeyPair, CosignKeyPair],
    tmp_path: Path,
) -> None:
    release, other = cosign_keys
    outcome = _push(location, tmp_path, "1.0.0", seed=7, key=release_key)
    assert [s.written for s in outcome.signed] == [True]

    accepted = cosign_cli.verify(release.pub, _pinned(outcome))
    assert accepted.returncode == 0, accepted.stderr
    claims = json.loads(accepted.stdout)
    assert [c["critical"]["image"]["docker-manifest-digest"] for c in claims] == [outcome.pushed[0].manifest_digest]
    refused = cosign_cli.verify(other.pub, _pinned(outcome))
    assert refused.returncode != 0
    assert "no matching signatures" in refused.stderr

    again = _push(location, tmp_path, "1.0.0", seed=7, key=release_key)
    assert [s.written for s in again.signed] == [False]
    assert len(_signature_layers(location, outcome)) == 1

    # The real cosign appends its signature to the manifest we wrote; both verify, each with its own key.
    cosign_cli.sign(other, _pinned(outcome))
    assert len(_signature_layers(location, outcome)) == 2
    assert cosign_cli.verify(release.pub, _pinned(outcome)).returncode == 0
    assert cosign_cli.verify(other.pub, _pinned(outcome)).returncode == 0


def test_push_cli_signs_with_a_pem_key_from_the_environment(
    oci_registry: LocalRegistry, cosign_cli: Cosign, tiny_model_dir: Path, tmp_path: Path
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    pub = tmp_path / "release.pub"
    pub.write_text(cosign.public_key_pem(key.public_key()), encoding="utf-8")
    cli = Path(sys.executable).with_name("edgeops")
    args = [str(cli), "model", "push", str(tiny_model_dir), "--version", "1.0.0", "--no-record"]
    args += ["--registry", f"{oci_registry.host}/edge-models", "--signing-key-env", "RELEASE_KEY"]

    bad = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False, env={**os.environ})
    assert bad.returncode == 2
    assert "signing key in $RELEASE_KEY: the variable is not set" in bad.stderr
    ok = subprocess.run(
        args, capture_output=True, text=True, timeout=300, check=False, env={**os.environ, "RELEASE_KEY": pem.decode()}
    )
    assert ok.returncode == 0, ok.stderr
    pinned = next(line.split()[1] for line in ok.stdout.splitlines() if line.startswith("pushed "))
    manifest_digest = ok.stdout.split(" manifest ", 1)[1].split()[0]
    assert "signed: " in ok.stdout
    image = pinned.rsplit(":", 1)[0] + "@" + manifest_digest
    assert cosign_cli.verify(pub, image).returncode == 0


class Slot:
    """The model manager's part: load with the runtime's own loader, then serve that model."""

    def __init__(self) -> None:
        self.served: list[str] = []

    async def on_update(self, config: ModelDeploymentConfig, path: Path) -> None:
        load_model(config, path.parent)
        self.served.append(config.artifact.digest)


def _deployment(outcome: PushOutcome) -> ModelDeploymentConfig:
    doc = deployment("tiny-scorer", outcome.digest, WINDOW, version=outcome.version, providers=["cpu"])
    doc["artifact"]["ref"] = _ref(outcome)
    return ModelDeploymentConfig.model_validate_json(json.dumps(doc))


async def test_the_puller_serves_only_what_a_trusted_key_signed(
    oci_registry: LocalRegistry,
    release_key: Path,
    cosign_cli: Cosign,
    cosign_keys: tuple[CosignKeyPair, CosignKeyPair],
    tmp_path: Path,
) -> None:
    release, other = cosign_keys
    location = parse_registry(f"{oci_registry.host}/edge-models")
    metrics = CollectorRegistry()
    keys = [SigningKeyConfig(name=TRUSTED, pem=release.pub.read_text(encoding="utf-8"))]
    puller = ModelPuller(tmp_path / "edge", metrics=PullMetrics(metrics), timeout_s=20, signing_keys=keys)
    slot = Slot()

    v1 = _push(location, tmp_path, "1.0.0", seed=1)
    cosign_cli.sign(release, _pinned(v1))
    scheduler = PullScheduler(puller, [_deployment(v1)], on_update=slot.on_update)
    assert await scheduler.pull_once(scheduler.deployments[0])
    assert slot.served == [v1.digest]
    assert puller.status("tiny-scorer.stable").signature == f"verified by {TRUSTED}"

    client = RegistryClient(location)
    repository = v1.pushed[0].repository
    v1_signature = client.find_manifest(repository, cosign.signature_tag(v1.pushed[0].manifest_digest))
    assert v1_signature is not None

    other_key = _push(location, tmp_path, "2.0.0", seed=2)
    cosign_cli.sign(other, _pinned(other_key))
    unsigned = _push(location, tmp_path, "3.0.0", seed=3)
    copied = _push(location, tmp_path, "4.0.0", seed=4)
    client.put_manifest(repository, cosign.signature_tag(copied.pushed[0].manifest_digest), v1_signature)
    tampered = _push(location, tmp_path, "5.0.0", seed=5)
    cosign_cli.sign(release, _pinned(tampered))
    payload_digest = _signature_layers(location, tampered)[0][0]
    blob = oci_registry.blob_data_path(payload_digest)
    blob.write_bytes(blob.read_bytes().replace(b"cosign container", b"COSIGN container"))

    for outcome, reason in (
        (other_key, "signature_untrusted"),
        (unsigned, "unsigned"),
        (copied, "signature_digest_mismatch"),
        (tampered, "signature_malformed"),
    ):
        scheduler.reconfigure([_deployment(outcome)])
        assert not await scheduler.pull_once(scheduler.deployments[0]), reason
        assert scheduler.serving_digest(scheduler.deployments[0]) == v1.digest
        assert slot.served == [v1.digest]
        assert not puller.target_path(outcome.digest).exists()
        status = puller.status("tiny-scorer.stable")
        assert status.last_error_reason == reason
        assert outcome.pushed[0].manifest_digest in (status.last_error or "")
        labels = {"model": "tiny-scorer.stable", "reason": reason}
        assert metrics.get_sample_value("edgeops_model_pull_failures_total", labels) == 1

    # The tag names a signed manifest, but not the one holding the configured model: refused as well.
    retagged = _deployment(v1).model_copy(
        update={"artifact": _deployment(unsigned).artifact.model_copy(update={"ref": _ref(v1)})}
    )
    scheduler.reconfigure([retagged])
    assert not await scheduler.pull_once(retagged)
    assert puller.status("tiny-scorer.stable").last_error_reason == "manifest_mismatch"

    signed_by_push = _push(location, tmp_path, "6.0.0", seed=6, key=release_key)
    scheduler.reconfigure([_deployment(signed_by_push)])
    assert await scheduler.pull_once(scheduler.deployments[0])
    assert slot.served == [v1.digest, signed_by_push.digest]


async def test_without_keys_artifacts_are_pulled_unverified(location: RegistryLocation, tmp_path: Path) -> None:
    outcome = _push(location, tmp_path, "1.0.0", seed=1)
    puller = ModelPuller(tmp_path / "edge", metrics=PullMetrics(CollectorRegistry()), timeout_s=20)
    path = await puller.ensure(_ref(outcome), outcome.digest, model="tiny-scorer")
    assert path.read_bytes() == outcome.build.data
    assert puller.status("tiny-scorer").signature == UNVERIFIED
