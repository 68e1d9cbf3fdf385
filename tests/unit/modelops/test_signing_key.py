"""Reading the signing key (reconciler.core.modelops.signing_key): cosign's encrypted envelope (scrypt +
nacl/secretbox around PKCS#8), plain and encrypted PKCS#8, SEC 1; and every refusal (wrong or missing password,
public or non-P-256 keys, broken envelopes), also for generated text, which only ever gives SigningKeyError.
The envelope written by the real `cosign generate-key-pair` is read in tests/integration/modelops/test_signatures.py."""

from __future__ import annotations

import base64
import json
from typing import Any

import nacl.secret
import nacl.utils
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.core.modelops import SigningKeyError, load_signing_key

pytestmark = pytest.mark.unit

KEY = ec.generate_private_key(ec.SECP256R1())
PASSWORD = b"correct horse"


def _pkcs8(key: Any = KEY) -> bytes:
    return bytes(
        key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )


def _envelope(*, n: int = 1024, der: bytes | None = None, password: bytes = PASSWORD, **changes: Any) -> dict[str, Any]:
    salt, nonce = nacl.utils.random(32), nacl.utils.random(24)
    box_key = Scrypt(salt=salt, length=32, n=n, r=8, p=1).derive(password)
    sealed = nacl.secret.SecretBox(box_key).encrypt(der if der is not None else _pkcs8(), nonce).ciphertext
    document: dict[str, Any] = {
        "kdf": {"name": "scrypt", "params": {"N": n, "r": 8, "p": 1}, "salt": base64.b64encode(salt).decode()},
        "cipher": {"name": "nacl/secretbox", "nonce": base64.b64encode(nonce).decode()},
        "ciphertext": base64.b64encode(sealed).decode(),
    }
    document.update(changes)
    return document


def _with_n(n: int) -> dict[str, Any]:
    document = _envelope()
    document["kdf"]["params"]["N"] = n
    return document


def _pem(document: Any, kind: str = "ENCRYPTED SIGSTORE PRIVATE KEY") -> bytes:
    body = base64.encodebytes(json.dumps(document).encode()).decode()
    return f"-----BEGIN {kind}-----\n{body}-----END {kind}-----\n".encode()


def _same_key(loaded: ec.EllipticCurvePrivateKey) -> bool:
    return loaded.private_numbers() == KEY.private_numbers()


@pytest.mark.parametrize("kind", ["ENCRYPTED SIGSTORE PRIVATE KEY", "ENCRYPTED COSIGN PRIVATE KEY"])
def test_cosign_encrypted_key(kind: str) -> None:
    assert _same_key(load_signing_key(_pem(_envelope(), kind), PASSWORD, source="k"))


def test_pem_forms_without_cosign_envelope() -> None:
    pkcs8 = KEY.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    sec1 = KEY.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    encrypted = KEY.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(PASSWORD)
    )
    assert _same_key(load_signing_key(pkcs8, None, source="k"))
    assert _same_key(load_signing_key(b"comment line\n" + sec1, None, source="k"))
    assert _same_key(load_signing_key(encrypted, PASSWORD, source="k"))


@pytest.mark.parametrize(
    ("text", "password", "message"),
    [
        (_pem(_envelope()), b"wrong", "wrong password"),
        (_pem(_envelope()), None, "needs its password"),
        (_pem(_with_n(1000)), PASSWORD, "power of two"),
        (_pem(_with_n(1 << 24)), PASSWORD, "kdf.params.N must be an integer"),
        (_pem(_envelope(kdf={"name": "pbkdf2"})), PASSWORD, "only kdf scrypt"),
        (_pem(_envelope(cipher={"name": "nacl/secretbox", "nonce": "AAAA"})), PASSWORD, "nonce is 3 bytes"),
        (_pem(_envelope(ciphertext="!!!")), PASSWORD, "ciphertext is not base64"),
        (_pem(["not", "an", "object"]), PASSWORD, "has no kdf.name"),
        (_pem(_envelope(der=b"\x30\x03junk")), PASSWORD, "not PKCS#8"),
        (_pem(_envelope(der=_pkcs8(ec.generate_private_key(ec.SECP384R1())))), PASSWORD, "ECDSA P-256"),
        (
            b"-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nnot json\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n",
            PASSWORD,
            "not base64",
        ),
        (
            KEY.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
            None,
            "'PUBLIC KEY' block is not a private key",
        ),
        (
            rsa.generate_private_key(65537, 2048).private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
            None,
            "ECDSA P-256",
        ),
        (b"just text", None, "not a PEM private key"),
    ],
)
def test_refusals_name_the_source_and_why(text: bytes, password: bytes | None, message: str) -> None:
    with pytest.raises(SigningKeyError, match=message) as raised:
        load_signing_key(text, password, source="signing key file release.key")
    assert str(raised.value).startswith("signing key file release.key: ")


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400), st.none() | st.binary(max_size=16))
def test_any_bytes_give_a_key_or_a_signing_key_error(text: bytes, password: bytes | None) -> None:
    for candidate in (text, _pem_bytes(text)):
        try:
            outcome: object = load_signing_key(candidate, password, source="k").curve
        except SigningKeyError as error:
            outcome = str(error)
        assert isinstance(outcome, ec.SECP256R1) or str(outcome).startswith("k: ")


def _pem_bytes(body: bytes) -> bytes:
    return (
        b"-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"
        + base64.encodebytes(body)
        + (b"-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n")
    )
