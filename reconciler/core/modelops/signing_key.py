"""The private key that signs model artifacts, from the PEM text it is kept as (no I/O: the caller reads it).

Accepted forms, all ECDSA P-256 (what cosign signs with):

    ENCRYPTED SIGSTORE PRIVATE KEY   what `cosign generate-key-pair` writes (ENCRYPTED COSIGN PRIVATE KEY before v2):
                                     JSON {kdf: scrypt N/r/p + salt, cipher: nacl/secretbox + nonce, ciphertext};
                                     the 32-byte scrypt of the password opens the box, which holds PKCS#8 DER
    PRIVATE KEY                      PKCS#8, unencrypted (or ENCRYPTED PRIVATE KEY with the password)
    EC PRIVATE KEY                   SEC 1, as `openssl ecparam -genkey` writes it

Every refusal is a SigningKeyError that says which form was expected and why the text is not it; it never
repeats key material.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

import nacl.exceptions
import nacl.secret
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

COSIGN_PEM_TYPES = ("ENCRYPTED SIGSTORE PRIVATE KEY", "ENCRYPTED COSIGN PRIVATE KEY")
_PEM = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----\s*(.*?)\s*-----END \1-----", re.DOTALL)
_MAX_SCRYPT_N = 1 << 20  # cosign uses 2^15; a larger cost would only stall the push (2^20 is 1 GiB of memory)


class SigningKeyError(ValueError):
    """The signing key text cannot be used (the message names the source it came from and why)."""


def _field(document: Any, *path: str) -> Any:
    for part in path:
        if not isinstance(document, dict) or part not in document:
            raise SigningKeyError(f"encrypted cosign key has no {'.'.join(path)}")
        document = document[part]
    return document


def _b64(document: Any, *path: str) -> bytes:
    value = _field(document, *path)
    try:
        return base64.b64decode(value, validate=True) if isinstance(value, str) else b""
    except binascii.Error as error:
        raise SigningKeyError(f"encrypted cosign key: {'.'.join(path)} is not base64") from error


def _scrypt_param(document: Any, name: str, upper: int) -> int:
    value = _field(document, "kdf", "params", name)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= upper:
        raise SigningKeyError(f"encrypted cosign key: kdf.params.{name} must be an integer in 1..{upper}")
    return value


def decrypt_cosign_key(body: bytes, password: bytes) -> bytes:
    """The PKCS#8 DER inside cosign's encrypted key body (the PEM block's decoded bytes)."""
    try:
        document = json.loads(body)
    except ValueError as error:
        raise SigningKeyError("encrypted cosign key: the PEM body is not cosign's JSON envelope") from error
    if _field(document, "kdf", "name") != "scrypt" or _field(document, "cipher", "name") != "nacl/secretbox":
        raise SigningKeyError("encrypted cosign key: only kdf scrypt with cipher nacl/secretbox is supported")
    n = _scrypt_param(document, "N", _MAX_SCRYPT_N)
    if n & (n - 1) or n < 2:
        raise SigningKeyError("encrypted cosign key: kdf.params.N must be a power of two")
    r, p = _scrypt_param(document, "r", 64), _scrypt_param(document, "p", 64)
    salt, nonce, ciphertext = (
        _b64(document, "kdf", "salt"),
        _b64(document, "cipher", "nonce"),
        _b64(document, "ciphertext"),
    )
    if len(nonce) != nacl.secret.SecretBox.NONCE_SIZE:
        raise SigningKeyError(f"encrypted cosign key: the nonce is {len(nonce)} bytes, not 24")
    box_key = Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(password)
    try:
        return bytes(nacl.secret.SecretBox(box_key).decrypt(ciphertext, nonce))
    except nacl.exceptions.CryptoError as error:
        raise SigningKeyError("encrypted cosign key: wrong password (or the key file is damaged)") from error


def _p256(key: object, source: str) -> ec.EllipticCurvePrivateKey:
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise SigningKeyError(f"{source}: an ECDSA P-256 private key is required (what cosign generate-key-pair makes)")
    return key


def load_signing_key(text: bytes, password: bytes | None, *, source: str) -> ec.EllipticCurvePrivateKey:
    """The ECDSA P-256 key in `text` (any accepted form); `source` names where it came from, for messages."""
    match = _PEM.search(text.decode("ascii", errors="replace"))
    if match is None:
        raise SigningKeyError(f"{source}: not a PEM private key (no -----BEGIN ...----- block)")
    kind = match.group(1)
    if kind in COSIGN_PEM_TYPES:
        if password is None:
            raise SigningKeyError(f"{source}: an encrypted cosign key needs its password (COSIGN_PASSWORD)")
        try:
            body = base64.b64decode("".join(match.group(2).split()), validate=True)
        except binascii.Error as error:
            raise SigningKeyError(f"{source}: the PEM body is not base64") from error
        try:
            der = decrypt_cosign_key(body, password)
        except SigningKeyError as error:
            raise SigningKeyError(f"{source}: {error}") from error
        try:
            return _p256(serialization.load_der_private_key(der, password=None), source)
        except ValueError as error:
            raise SigningKeyError(f"{source}: the decrypted key is not PKCS#8: {error}") from error
    if kind not in ("PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "EC PRIVATE KEY"):
        raise SigningKeyError(f"{source}: a PEM {kind!r} block is not a private key this command can sign with")
    try:
        key = serialization.load_pem_private_key(match.group(0).encode(), password=password or None)
    except (ValueError, TypeError) as error:
        raise SigningKeyError(f"{source}: cannot read the {kind}: {error}") from error
    return _p256(key, source)
