"""Check an artifact's cosign signature against the region's trusted keys before any byte of it is placed.

    ref's manifest (tag or @digest) ── sha256 ──▶ manifest digest M; M's layers must hold the configured digest
    <repository>:sha256-<M hex>.sig ──▶ simple-signing layers ──▶ payload blobs (each checked against its digest)
    runtime.cosign.verify(layers, M, keys) ──▶ the trusted key that signed M, or a refusal with its reason

Blocking (run in a thread). Refusals are `SignatureRejected` with the reason the metric is labelled with; a registry
that does not answer is `RegistryUnavailable` like any other pull, retried on the next interval.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from runtime import cosign
from runtime.artifacts.errors import ArtifactNotFound, SignatureRejected
from runtime.artifacts.fetch import read_small
from runtime.artifacts.reference import BlobLocation, ManifestLocation, manifest_reference
from runtime.config import SigningKeyConfig

MAX_MANIFEST_BYTES = 4 << 20  # distribution's own limit for a manifest
MAX_SIGNATURES = 64  # cosign appends one layer per signature; more than this is not a signing history


def _refuse(error: cosign.CosignError) -> SignatureRejected:
    return SignatureRejected(str(error), error.reason)


class SignatureVerifier:
    """The region's trusted keys; `verify` names the key that signed the artifact or raises SignatureRejected."""

    def __init__(self, keys: Sequence[SigningKeyConfig]) -> None:
        self.keys = {k.name: cosign.load_public_key(k.pem, name=k.name) for k in keys}

    @property
    def enabled(self) -> bool:
        return bool(self.keys)

    def verify(self, ref: str, blob: BlobLocation, *, timeout_s: float) -> str:
        manifest = ManifestLocation(blob, manifest_reference(ref))
        raw = read_small(manifest, timeout_s=timeout_s, max_bytes=MAX_MANIFEST_BYTES)
        manifest_digest = "sha256:" + hashlib.sha256(raw).hexdigest()
        if manifest.reference.startswith("sha256:") and manifest.reference != manifest_digest:
            raise SignatureRejected(
                f"{manifest.url}: content hashes to {manifest_digest}, not the digest asked for", "manifest_mismatch"
            )
        if blob.digest not in _layer_digests(raw):
            raise SignatureRejected(
                f"{manifest.url} ({manifest_digest}) does not carry the configured model {blob.digest}",
                "manifest_mismatch",
            )
        try:
            layers = self._signature_layers(blob, manifest_digest, timeout_s)
            return cosign.verify(layers, manifest_digest, self.keys)
        except cosign.CosignError as error:
            raise _refuse(error) from error

    def _signature_layers(
        self, blob: BlobLocation, manifest_digest: str, timeout_s: float
    ) -> list[cosign.SignatureLayer]:
        where = ManifestLocation(blob, cosign.signature_tag(manifest_digest))
        try:
            raw = read_small(where, timeout_s=timeout_s, max_bytes=MAX_MANIFEST_BYTES)
        except ArtifactNotFound as error:
            raise cosign.Unsigned(f"no cosign signature for {manifest_digest} ({where.url}: 404)") from error
        try:
            document = json.loads(raw)
        except ValueError as error:
            raise cosign.MalformedSignature(f"{where.url}: not JSON: {error}") from error
        found = cosign.signature_layers(document)[:MAX_SIGNATURES]
        if not found:
            raise cosign.MalformedSignature(f"{where.url}: no simple-signing layer with a signature annotation")
        layers: list[cosign.SignatureLayer] = []
        for digest, signature in found:
            payload_at = BlobLocation(blob.scheme, blob.host, blob.repository, digest)
            payload = read_small(payload_at, timeout_s=timeout_s, max_bytes=cosign.MAX_PAYLOAD_BYTES)
            # A payload that does not hash to its descriptor is not what was signed; verify() refuses it anyway,
            # but the reason is clearer as "malformed" than as "untrusted".
            if cosign.sha256_digest(payload) == digest:
                layers.append(cosign.SignatureLayer(payload, signature))
        if not layers:
            raise cosign.MalformedSignature(
                f"no signature payload for {manifest_digest} hashes to the digest its layer names (tampered?)"
            )
        return layers


def _layer_digests(raw: bytes) -> set[str]:
    try:
        document = json.loads(raw)
    except ValueError:
        return set()
    layers = document.get("layers") if isinstance(document, dict) else None
    return {str(layer.get("digest")) for layer in layers or () if isinstance(layer, dict)}
