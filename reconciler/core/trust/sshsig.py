"""SSH signatures in the SSHSIG format: what `ssh-keygen -Y sign` writes and what git stores in a commit's
`gpgsig` header when `gpg.format=ssh`.

    -----BEGIN SSH SIGNATURE-----          base64 of: "SSHSIG", uint32 version (1), string public key,
    ...                                    string namespace ("git" for commits), string reserved,
    -----END SSH SIGNATURE-----            string hash algorithm (sha256 | sha512), string signature

The signature covers "SSHSIG" ‖ string namespace ‖ string reserved ‖ string hash algorithm ‖ string H(message).
Ed25519, ECDSA (NIST P-256/384/521) and RSA keys (with rsa-sha2-256/512, never SHA-1) are understood; security-key
(`sk-*`) keys are not, and their signatures never verify.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from reconciler.core.trust.wire import Reader, SignatureFormatError, ssh_string

MAGIC = b"SSHSIG"
BEGIN = "-----BEGIN SSH SIGNATURE-----"
END = "-----END SSH SIGNATURE-----"
GIT_NAMESPACE = "git"

_MESSAGE_HASHES = {"sha256": hashlib.sha256, "sha512": hashlib.sha512}
_RSA_HASHES: dict[str, hashes.HashAlgorithm] = {"rsa-sha2-256": hashes.SHA256(), "rsa-sha2-512": hashes.SHA512()}
_ECDSA_HASHES: dict[str, hashes.HashAlgorithm] = {
    "ecdsa-sha2-nistp256": hashes.SHA256(),
    "ecdsa-sha2-nistp384": hashes.SHA384(),
    "ecdsa-sha2-nistp521": hashes.SHA512(),
}

SigningKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


@dataclass(frozen=True)
class SshSignature:
    public_key: bytes  # the signer's key in SSH wire format
    namespace: str
    hash_algorithm: str
    algorithm: str  # of the signature itself: ssh-ed25519, rsa-sha2-512, ecdsa-sha2-nistp256, ...
    signature: bytes


def is_armored(signature: bytes) -> bool:
    return signature.lstrip().startswith(BEGIN.encode())


def parse(armored: bytes) -> SshSignature:
    """Parse an armored SSH signature; raises `SignatureFormatError` for anything else."""
    try:
        lines = armored.decode("ascii").strip().splitlines()
    except UnicodeDecodeError as error:
        raise SignatureFormatError("the SSH signature is not ASCII") from error
    if len(lines) < 3 or lines[0].strip() != BEGIN or lines[-1].strip() != END:
        raise SignatureFormatError(f"an SSH signature starts with {BEGIN} and ends with {END}")
    try:
        blob = base64.b64decode("".join(line.strip() for line in lines[1:-1]), validate=True)
    except (binascii.Error, ValueError) as error:
        raise SignatureFormatError(f"the SSH signature is not valid base64: {error}") from error
    reader = Reader(blob, "the SSH signature")
    if reader.take(len(MAGIC)) != MAGIC:
        raise SignatureFormatError("the SSH signature does not start with SSHSIG")
    if (version := reader.uint(4)) != 1:
        raise SignatureFormatError(f"SSH signature version {version} is not supported (only 1)")
    public_key = reader.string()
    namespace = reader.text()
    reader.string()  # reserved
    hash_algorithm = reader.text()
    inner = Reader(reader.string(), "the SSH signature's signature blob")
    algorithm = inner.text()
    signature = inner.string()
    if not reader.done or not inner.done:
        raise SignatureFormatError("the SSH signature has trailing bytes")
    return SshSignature(public_key, namespace, hash_algorithm, algorithm, signature)


def key_type(public_key: bytes) -> str:
    return Reader(public_key, "the SSH public key").text()


def fingerprint(public_key: bytes) -> str:
    """As `ssh-keygen -l` prints it: SHA256:<base64 without padding>."""
    digest = base64.b64encode(hashlib.sha256(public_key).digest()).decode().rstrip("=")
    return f"SHA256:{digest}"


def _signed_data(namespace: str, hash_algorithm: str, message: bytes) -> bytes:
    digest = _MESSAGE_HASHES[hash_algorithm](message).digest()
    return MAGIC + b"".join(ssh_string(part) for part in (namespace.encode(), b"", hash_algorithm.encode(), digest))


def load_public_key(public_key: bytes) -> object:
    """A `cryptography` public key from SSH wire format; raises `SignatureFormatError` when it is not one."""
    line = key_type(public_key).encode() + b" " + base64.b64encode(public_key)
    try:
        return serialization.load_ssh_public_key(line)
    except (ValueError, UnsupportedAlgorithm) as error:
        raise SignatureFormatError(f"not a supported SSH public key: {error}") from error


def verify(signature: SshSignature, message: bytes, namespace: str = GIT_NAMESPACE) -> bool:
    """Whether `signature` is a valid signature of `message` in `namespace` by the key it names. (Whether that key
    is trusted is the caller's question.)"""
    if signature.namespace != namespace or signature.hash_algorithm not in _MESSAGE_HASHES:
        return False
    try:
        key = load_public_key(signature.public_key)
    except SignatureFormatError:
        return False
    data = _signed_data(namespace, signature.hash_algorithm, message)
    try:
        if isinstance(key, ed25519.Ed25519PublicKey) and signature.algorithm == "ssh-ed25519":
            key.verify(signature.signature, data)
        elif isinstance(key, rsa.RSAPublicKey) and signature.algorithm in _RSA_HASHES:
            key.verify(signature.signature, data, padding.PKCS1v15(), _RSA_HASHES[signature.algorithm])
        elif isinstance(key, ec.EllipticCurvePublicKey) and signature.algorithm == key_type(signature.public_key):
            rs = Reader(signature.signature, "the ECDSA signature")
            r, s = int.from_bytes(rs.string(), "big"), int.from_bytes(rs.string(), "big")
            key.verify(encode_dss_signature(r, s), data, ec.ECDSA(_ECDSA_HASHES[signature.algorithm]))
        else:
            return False
    except (InvalidSignature, SignatureFormatError, KeyError, ValueError):
        return False
    return True


def public_key_blob(key: SigningKey) -> bytes:
    line = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return base64.b64decode(line.split()[1])


def sign(message: bytes, key: SigningKey, namespace: str = GIT_NAMESPACE) -> bytes:
    """The armored SSH signature of `message`, as `ssh-keygen -Y sign -n <namespace>` writes it."""
    hash_algorithm = "sha512"
    data = _signed_data(namespace, hash_algorithm, message)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        algorithm, raw = "ssh-ed25519", key.sign(data)
    elif isinstance(key, rsa.RSAPrivateKey):
        algorithm, raw = "rsa-sha2-512", key.sign(data, padding.PKCS1v15(), hashes.SHA512())
    else:
        algorithm = key_type(public_key_blob(key))
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(_ECDSA_HASHES[algorithm])))
        raw = b"".join(ssh_string(_mpint(n)) for n in (r, s))
    blob = (
        MAGIC
        + (1).to_bytes(4, "big")
        + b"".join(
            ssh_string(part) for part in (public_key_blob(key), namespace.encode(), b"", hash_algorithm.encode())
        )
        + ssh_string(ssh_string(algorithm.encode()) + ssh_string(raw))
    )
    text = base64.b64encode(blob).decode()
    body = "\n".join(text[i : i + 70] for i in range(0, len(text), 70))
    return f"{BEGIN}\n{body}\n{END}\n".encode()


def _mpint(value: int) -> bytes:
    """SSH mpint of a non-negative integer: big-endian, with a leading zero byte when the top bit is set."""
    raw = value.to_bytes((value.bit_length() + 7) // 8 or 1, "big")
    return b"\x00" + raw if raw[0] & 0x80 else raw
