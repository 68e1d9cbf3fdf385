"""cosign's key-based image signatures, as values: the format `cosign sign --key` writes, and its verification.

Both ends use this one definition: `edgeops model push` builds and signs with it, the edge puller verifies with it,
and the integration tests check that the real `cosign` accepts the one and writes what the other verifies.

    <repository>:sha256-<manifest hex>.sig    an OCI image manifest in the signed artifact's repository
    ├─ config  application/vnd.oci.image.config.v1+json          rootfs.diff_ids = the layer digests
    └─ layer   application/vnd.dev.cosign.simplesigning.v1+json  one per signature; the payload below, annotated
               dev.cosignproject.cosign/signature = base64(ASN.1 ECDSA P-256 signature of sha256(payload))

    payload  {"critical":{"identity":{"docker-reference":REPO},"image":{"docker-manifest-digest":DIGEST},
              "type":"cosign container image signature"},"optional":ANNOTATIONS|null}

The signature covers the payload bytes exactly as stored; the payload names the manifest digest, and the manifest
names the model layer's digest, so a verified signature vouches for the model bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

SIMPLESIGNING_MEDIA_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json"
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
IMAGE_MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"
IMAGE_CONFIG_MEDIA_TYPE = "application/vnd.oci.image.config.v1+json"
SIGNATURE_TYPE = "cosign container image signature"
MAX_PAYLOAD_BYTES = 64 * 1024  # cosign payloads are a few hundred bytes; anything near this is not one
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


class CosignError(ValueError):
    """Base of this module's errors; `reason` is the metric label the puller counts it under."""

    reason = "signature"


class BadKey(CosignError):
    """A public key that is not a PEM ECDSA P-256 key (the only kind cosign's key pairs and this module use)."""

    reason = "signature_key"


class Unsigned(CosignError):
    reason = "unsigned"


class UntrustedSignature(CosignError):
    reason = "signature_untrusted"


class SignatureForOtherDigest(CosignError):
    reason = "signature_digest_mismatch"


class MalformedSignature(CosignError):
    reason = "signature_malformed"


def signature_tag(manifest_digest: str) -> str:
    """The tag cosign stores a manifest's signatures under (registries without the referrers API)."""
    if not _DIGEST.match(manifest_digest):
        raise MalformedSignature(f"{manifest_digest!r} is not a sha256 manifest digest")
    return manifest_digest.replace(":", "-") + ".sig"


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def simple_signing_payload(
    docker_reference: str, manifest_digest: str, annotations: Mapping[str, str] | None = None
) -> bytes:
    """The payload bytes cosign signs: compact JSON with its field order (Go's encoding/json of cosign's struct)."""
    document = {
        "critical": {
            "identity": {"docker-reference": docker_reference},
            "image": {"docker-manifest-digest": manifest_digest},
            "type": SIGNATURE_TYPE,
        },
        "optional": dict(sorted(annotations.items())) if annotations else None,
    }
    return json.dumps(document, separators=(",", ":")).encode()


def signed_digest(payload: bytes) -> str:
    """The manifest digest a payload vouches for; MalformedSignature when it is not a cosign payload."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise MalformedSignature(f"payload is {len(payload)} bytes; a cosign payload is at most {MAX_PAYLOAD_BYTES}")
    try:
        document: Any = json.loads(payload)
    except (ValueError, RecursionError) as error:
        raise MalformedSignature(f"payload is not JSON: {error}") from error
    critical = document.get("critical") if isinstance(document, dict) else None
    if not isinstance(critical, dict) or critical.get("type") != SIGNATURE_TYPE:
        raise MalformedSignature(f"payload is not a {SIGNATURE_TYPE!r} (critical.type)")
    image = critical.get("image")
    digest = image.get("docker-manifest-digest") if isinstance(image, dict) else None
    if not isinstance(digest, str) or not _DIGEST.match(digest):
        raise MalformedSignature("payload's critical.image.docker-manifest-digest is not a sha256 digest")
    return digest


def load_public_key(pem: bytes | str, *, name: str = "key") -> ec.EllipticCurvePublicKey:
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as error:
        raise BadKey(f"{name}: not a PEM public key ('-----BEGIN PUBLIC KEY-----'): {error}") from error
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise BadKey(f"{name}: an ECDSA P-256 public key is required (what `cosign generate-key-pair` makes)")
    return key


def public_key_pem(key: ec.EllipticCurvePublicKey) -> str:
    """The canonical PEM (SubjectPublicKeyInfo) of `key`, as `cosign generate-key-pair` writes cosign.pub."""
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def sign_payload(key: ec.EllipticCurvePrivateKey, payload: bytes) -> str:
    """The base64 signature annotation for `payload` (ECDSA over its SHA-256, ASN.1 DER, like cosign)."""
    if not isinstance(key.curve, ec.SECP256R1):
        raise BadKey("signing key: an ECDSA P-256 private key is required")
    return base64.b64encode(key.sign(payload, ec.ECDSA(hashes.SHA256()))).decode()


@dataclass(frozen=True)
class SignatureLayer:
    """One signature as stored: the payload bytes and the annotation value."""

    payload: bytes
    signature: str

    def descriptor(self) -> dict[str, Any]:
        return {
            "mediaType": SIMPLESIGNING_MEDIA_TYPE,
            "size": len(self.payload),
            "digest": sha256_digest(self.payload),
            "annotations": {SIGNATURE_ANNOTATION: self.signature},
        }


def verifies(key: ec.EllipticCurvePublicKey, layer: SignatureLayer) -> bool:
    """Does `key` verify `layer`'s signature over its payload (whatever the payload says)?"""
    try:
        raw = base64.b64decode(layer.signature, validate=True)
        key.verify(raw, layer.payload, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def verify(
    layers: Sequence[SignatureLayer], manifest_digest: str, keys: Mapping[str, ec.EllipticCurvePublicKey]
) -> str:
    """The name of a trusted key that signed a payload for `manifest_digest`; else the most telling refusal:
    a trusted signature for another digest, then no trusted signature at all, then nothing readable."""
    if not layers:
        raise Unsigned(f"no cosign signature for {manifest_digest}")
    other: list[str] = []
    problems: list[str] = []
    for layer in layers:
        signers = [name for name, key in keys.items() if verifies(key, layer)]
        try:
            digest = signed_digest(layer.payload)
        except MalformedSignature as error:
            problems.append(str(error))
            continue
        if signers and digest == manifest_digest:
            return signers[0]
        if signers:
            other.append(digest)
    if other:
        raise SignatureForOtherDigest(
            f"the trusted signature is for {other[0]}, not for {manifest_digest} (copied from another artifact?)"
        )
    if len(problems) == len(layers):
        raise MalformedSignature(f"no readable cosign signature for {manifest_digest}: {problems[0]}")
    raise UntrustedSignature(
        f"{len(layers)} signature(s) for {manifest_digest}, none by a trusted key ({', '.join(sorted(keys))})"
    )


def signature_config(payload_digests: Iterable[str]) -> bytes:
    """The image config cosign writes for a signature manifest (an empty image whose layers are the payloads)."""
    document = {
        "architecture": "",
        "created": "0001-01-01T00:00:00Z",
        "history": [{"created": "0001-01-01T00:00:00Z"}],
        "os": "",
        "rootfs": {"type": "layers", "diff_ids": list(payload_digests)},
        "config": {},
    }
    return json.dumps(document, separators=(",", ":")).encode()


def signature_manifest(layer_descriptors: Sequence[Mapping[str, Any]], config: bytes) -> bytes:
    """A `.sig` manifest over simple-signing layer descriptors (kept as found, plus `SignatureLayer.descriptor()`)."""
    document = {
        "schemaVersion": 2,
        "mediaType": IMAGE_MANIFEST_MEDIA_TYPE,
        "config": {"mediaType": IMAGE_CONFIG_MEDIA_TYPE, "size": len(config), "digest": sha256_digest(config)},
        "layers": [dict(d) for d in layer_descriptors],
    }
    return json.dumps(document, separators=(",", ":")).encode()


def signature_layers(manifest: Any) -> list[tuple[str, str]]:
    """(payload digest, signature annotation) per simple-signing layer of a `.sig` manifest document; layers of
    other media types are skipped, a document that is not a manifest is MalformedSignature."""
    layers = manifest.get("layers") if isinstance(manifest, dict) else None
    if not isinstance(layers, list):
        raise MalformedSignature("the .sig manifest has no layers list")
    found: list[tuple[str, str]] = []
    for layer in layers:
        if not isinstance(layer, dict) or layer.get("mediaType") != SIMPLESIGNING_MEDIA_TYPE:
            continue
        digest, annotations = layer.get("digest"), layer.get("annotations")
        signature = annotations.get(SIGNATURE_ANNOTATION) if isinstance(annotations, dict) else None
        if isinstance(digest, str) and _DIGEST.match(digest) and isinstance(signature, str):
            found.append((digest, signature))
    return found
