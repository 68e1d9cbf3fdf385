"""Sign pushed model artifacts the way `cosign sign --key` does, without the cosign binary.

The private key comes by reference only: a file path or the name of an environment variable that holds the PEM,
with the password of an encrypted cosign key in `COSIGN_PASSWORD` (cosign's own variable). It is never written
anywhere. Signatures are appended to the artifact's `sha256-<hex>.sig` manifest like cosign appends them; a payload
this key already signed is left as it is, so pushing the same version again writes nothing.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from reconciler.core.modelops import SigningKeyError, load_signing_key
from reconciler.shells.registry import PushedArtifact, RegistryClient
from runtime import cosign

PASSWORD_ENV = "COSIGN_PASSWORD"  # noqa: S105 - the variable's name, cosign's own


@dataclass(frozen=True)
class SigningKey:
    key: ec.EllipticCurvePrivateKey
    source: str  # where it came from, for messages ("file keys/release.key", "env EDGEOPS_SIGNING_KEY")

    def public_pem(self) -> bytes:
        return self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


@dataclass(frozen=True)
class SignedArtifact:
    pushed: PushedArtifact
    signature_tag: str
    written: bool  # False when this key had already signed this manifest


def read_signing_key(path: Path | None = None, env: str | None = None, password_env: str = PASSWORD_ENV) -> SigningKey:
    """The key from the file at `path` or from the environment variable `env` (exactly one of them)."""
    if (path is None) == (env is None):
        raise SigningKeyError("give the signing key as a file path or as an environment variable name, not both")
    if path is not None:
        source = f"signing key file {path}"
        try:
            text = path.read_bytes()
        except OSError as error:
            raise SigningKeyError(f"{source}: cannot read: {error.strerror}") from error
    else:
        assert env is not None
        source = f"signing key in ${env}"
        value = os.environ.get(env)
        if not value:
            raise SigningKeyError(f"{source}: the variable is not set (it holds the PEM text of the key)")
        text = value.encode()
    password = os.environ.get(password_env)
    return SigningKey(
        load_signing_key(text, password.encode() if password is not None else None, source=source), source
    )


def _existing_layers(client: RegistryClient, repository: str, tag: str) -> list[dict[str, Any]]:
    raw = client.find_manifest(repository, tag, cosign.IMAGE_MANIFEST_MEDIA_TYPE)
    if raw is None:
        return []
    document = json.loads(raw)
    layers = document.get("layers") if isinstance(document, dict) else None
    return [layer for layer in layers or () if isinstance(layer, dict)]


def sign_pushed(client: RegistryClient, pushed: PushedArtifact, key: SigningKey) -> SignedArtifact:
    """Sign `pushed`'s manifest digest and store the signature beside it under cosign's tag."""
    payload = cosign.simple_signing_payload(f"{pushed.registry}/{pushed.repository}", pushed.manifest_digest)
    payload_digest = cosign.sha256_digest(payload)
    tag = cosign.signature_tag(pushed.manifest_digest)
    layers = _existing_layers(client, pushed.repository, tag)
    public = key.key.public_key()
    for digest, signature in cosign.signature_layers({"layers": layers}):
        if digest == payload_digest and cosign.verifies(public, cosign.SignatureLayer(payload, signature)):
            return SignedArtifact(pushed=pushed, signature_tag=tag, written=False)
    layer = cosign.SignatureLayer(payload, cosign.sign_payload(key.key, payload))
    layers.append(layer.descriptor())
    client.upload_blob(pushed.repository, payload, cosign.SIMPLESIGNING_MEDIA_TYPE)
    config = cosign.signature_config(str(d["digest"]) for d in layers)
    client.upload_blob(pushed.repository, config, cosign.IMAGE_CONFIG_MEDIA_TYPE)
    client.put_manifest(
        pushed.repository, tag, cosign.signature_manifest(layers, config), cosign.IMAGE_MANIFEST_MEDIA_TYPE
    )
    return SignedArtifact(pushed=pushed, signature_tag=tag, written=True)
