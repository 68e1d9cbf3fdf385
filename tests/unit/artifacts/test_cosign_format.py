"""cosign's key-based signature format (runtime.cosign): the payload round trip for any reference and digest, the
`.sig` tag and manifest, and each refusal of `verify` (unsigned, untrusted key, signature for another digest,
malformed payloads), also for generated hostile payloads and `.sig` documents, which never raise anything else;
which manifest a ref names; public keys in the runtime config are ECDSA P-256."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from runtime import cosign
from runtime.artifacts.reference import manifest_reference
from runtime.config import SigningKeyConfig

pytestmark = pytest.mark.unit

DIGEST = "sha256:" + "ab" * 32
OTHER = "sha256:" + "cd" * 32
KEY = ec.generate_private_key(ec.SECP256R1())
OTHER_KEY = ec.generate_private_key(ec.SECP256R1())
TRUSTED = {"fleet/keys/release.pub": KEY.public_key()}

digests = st.text("0123456789abcdef", min_size=64, max_size=64).map(lambda h: "sha256:" + h)
references = st.text(min_size=1, max_size=200)


def _layer(key: ec.EllipticCurvePrivateKey, digest: str, reference: str = "registry.example/models/m") -> Any:
    payload = cosign.simple_signing_payload(reference, digest)
    return cosign.SignatureLayer(payload, cosign.sign_payload(key, payload))


@given(references, digests, st.none() | st.dictionaries(st.text(max_size=20), st.text(max_size=20), max_size=3))
def test_payload_round_trip(reference: str, digest: str, annotations: dict[str, str] | None) -> None:
    payload = cosign.simple_signing_payload(reference, digest, annotations)
    assert cosign.signed_digest(payload) == digest
    document = json.loads(payload)
    assert document["critical"]["identity"]["docker-reference"] == reference
    assert document["critical"]["type"] == "cosign container image signature"


def test_payload_bytes_are_what_cosign_writes() -> None:
    # Byte for byte what `cosign sign` v2.6 wrote for this reference and digest against the test registry.
    assert cosign.simple_signing_payload("127.0.0.1:5000/edge/m", DIGEST) == (
        b'{"critical":{"identity":{"docker-reference":"127.0.0.1:5000/edge/m"},"image":{"docker-manifest-digest":"'
        + DIGEST.encode()
        + b'"},"type":"cosign container image signature"},"optional":null}'
    )


def test_signature_tag_and_manifest_shape() -> None:
    assert cosign.signature_tag(DIGEST) == "sha256-" + "ab" * 32 + ".sig"
    with pytest.raises(cosign.MalformedSignature):
        cosign.signature_tag("sha256:XYZ")
    layer = _layer(KEY, DIGEST)
    config = cosign.signature_config([cosign.sha256_digest(layer.payload)])
    manifest = json.loads(cosign.signature_manifest([layer.descriptor()], config))
    assert manifest["config"] == {
        "mediaType": cosign.IMAGE_CONFIG_MEDIA_TYPE,
        "size": len(config),
        "digest": cosign.sha256_digest(config),
    }
    assert cosign.signature_layers(manifest) == [(cosign.sha256_digest(layer.payload), layer.signature)]
    assert json.loads(config)["rootfs"]["diff_ids"] == [cosign.sha256_digest(layer.payload)]


def test_a_trusted_signature_for_the_digest_verifies() -> None:
    layers = [_layer(OTHER_KEY, DIGEST), _layer(KEY, DIGEST)]
    assert cosign.verify(layers, DIGEST, TRUSTED) == "fleet/keys/release.pub"


@pytest.mark.parametrize(
    ("layers", "error", "reason"),
    [
        ([], cosign.Unsigned, "unsigned"),
        ([_layer(OTHER_KEY, DIGEST)], cosign.UntrustedSignature, "signature_untrusted"),
        ([_layer(KEY, OTHER)], cosign.SignatureForOtherDigest, "signature_digest_mismatch"),
        ([_layer(OTHER_KEY, DIGEST), _layer(KEY, OTHER)], cosign.SignatureForOtherDigest, "signature_digest_mismatch"),
        ([cosign.SignatureLayer(b"not json", "AAAA")], cosign.MalformedSignature, "signature_malformed"),
    ],
    ids=["unsigned", "other-key", "other-digest", "other-digest-beside-untrusted", "malformed"],
)
def test_refusals_say_why(layers: list[Any], error: type[cosign.CosignError], reason: str) -> None:
    with pytest.raises(error) as raised:
        cosign.verify(layers, DIGEST, TRUSTED)
    assert raised.value.reason == reason


def test_a_tampered_payload_no_longer_verifies() -> None:
    layer = _layer(KEY, OTHER)
    tampered = cosign.SignatureLayer(layer.payload.replace(OTHER.encode(), DIGEST.encode()), layer.signature)
    with pytest.raises(cosign.UntrustedSignature):
        cosign.verify([tampered], DIGEST, TRUSTED)


@settings(max_examples=200)
@given(st.binary(max_size=512) | st.text(max_size=300).map(str.encode), st.text(max_size=120))
def test_any_payload_and_annotation_is_refused_with_a_cosign_error(payload: bytes, signature: str) -> None:
    with pytest.raises(cosign.CosignError):
        cosign.verify([cosign.SignatureLayer(payload, signature)], DIGEST, TRUSTED)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_any_sig_document_gives_layers_or_a_malformed_error(document: Any) -> None:
    try:
        found = cosign.signature_layers(document)
    except cosign.MalformedSignature:
        return
    assert all(isinstance(d, str) and isinstance(s, str) for d, s in found)


def _pem(key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def test_public_keys_must_be_pem_ecdsa_p256() -> None:
    pem = cosign.public_key_pem(KEY.public_key())
    assert cosign.public_key_pem(cosign.load_public_key(pem)) == pem
    with pytest.raises(cosign.BadKey, match="ECDSA P-256"):
        cosign.load_public_key(_pem(rsa.generate_private_key(65537, 2048).public_key()), name="fleet/keys/rsa.pub")
    with pytest.raises(cosign.BadKey, match="ECDSA P-256"):
        cosign.load_public_key(_pem(ec.generate_private_key(ec.SECP384R1()).public_key()))
    with pytest.raises(cosign.BadKey, match="not a PEM public key"):
        cosign.load_public_key(base64.b64encode(b"garbage"), name="k")


@pytest.mark.parametrize(
    ("ref", "reference"),
    [
        ("127.0.0.1:5000/edge-models/m:1.0.0", "1.0.0"),
        ("registry.example/edge-models/m:1.0.0_build.1", "1.0.0_build.1"),
        ("registry.example/edge-models/m", "latest"),
        ("http://localhost:5000/m@" + DIGEST, DIGEST),
        ("registry.example/m:1.0.0@" + DIGEST, DIGEST),
    ],
)
def test_the_manifest_a_ref_names(ref: str, reference: str) -> None:
    assert manifest_reference(ref) == reference


def test_runtime_config_refuses_a_key_that_is_not_ecdsa_p256() -> None:
    rsa_pem = _pem(rsa.generate_private_key(65537, 2048).public_key()).decode()
    with pytest.raises(ValidationError, match="ECDSA P-256"):
        SigningKeyConfig(name="fleet/keys/rsa.pub", pem=rsa_pem)
    pem = cosign.public_key_pem(KEY.public_key())
    assert SigningKeyConfig(name="fleet/keys/release.pub", pem=pem).pem == pem
