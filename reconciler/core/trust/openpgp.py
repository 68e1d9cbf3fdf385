"""OpenPGP detached signatures as `gpg --detach-sign --armor` writes them (what git stores in a commit's `gpgsig`
header by default), and the public keys that verify them (`gpg --export --armor`).

Understood: version 4 signature and key packets (RFC 4880 / RFC 9580) with RSA, ECDSA (NIST P-256/384/521),
EdDSA-legacy and Ed25519 keys; SHA-224/256/384/512. A binary-document signature (type 0x00) only. Refused, so
they never verify: SHA-1 and MD5 digests, DSA, a signature with an unknown critical subpacket. Every key packet
(primary or subkey) of a trusted key file is trusted: the file is the trust decision, so revoking a key is
removing it from the file; expiry dates inside keys and signatures are not consulted.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, encode_dss_signature

from reconciler.core.trust.wire import Reader, SignatureFormatError

SIGNATURE_ARMOR = "PGP SIGNATURE"
PUBLIC_KEY_ARMOR = "PGP PUBLIC KEY BLOCK"

_SIGNATURE, _PUBLIC_KEY, _PUBLIC_SUBKEY, _USER_ID = 2, 6, 14, 13
_RSA, _RSA_SIGN, _ECDSA, _EDDSA_LEGACY, _ED25519 = 1, 3, 19, 22, 27
_HASHES: dict[int, type[hashes.HashAlgorithm]] = {
    8: hashes.SHA256,
    9: hashes.SHA384,
    10: hashes.SHA512,
    11: hashes.SHA224,
}
_CURVES: dict[bytes, ec.EllipticCurve] = {
    bytes.fromhex("2a8648ce3d030107"): ec.SECP256R1(),
    bytes.fromhex("2b81040022"): ec.SECP384R1(),
    bytes.fromhex("2b81040023"): ec.SECP521R1(),
}
_ED25519_OID = bytes.fromhex("2b06010401da470f01")
# Subpackets whose meaning is understood well enough to honour their critical bit (creation and expiry times,
# issuer, key flags, issuer fingerprint, ...): an unknown critical one makes the signature invalid (RFC 4880 5.2.3.1).
_KNOWN_SUBPACKETS = frozenset({2, 3, 4, 5, 9, 11, 16, 20, 21, 22, 23, 25, 26, 27, 28, 30, 33})


@dataclass(frozen=True)
class PublicKey:
    fingerprint: str  # 40 hex digits (v4)
    algorithm: int
    material: bytes  # the algorithm-specific part of the key packet
    user_id: str  # of the certificate it belongs to ("" when none)

    @property
    def key_id(self) -> str:
        return self.fingerprint[-16:]


@dataclass(frozen=True)
class Signature:
    signature_type: int
    algorithm: int
    hash_algorithm: int
    hashed: bytes  # the signature packet from its version through the hashed subpackets: what is hashed
    issuers: tuple[str, ...]  # key ids and fingerprints the subpackets name (upper-case hex)
    critical_unknown: tuple[int, ...]
    value: bytes  # the algorithm-specific signature fields


def is_armored(data: bytes) -> bool:
    return data.lstrip().startswith(f"-----BEGIN {SIGNATURE_ARMOR}-----".encode())


def dearmor(text: bytes, label: str) -> bytes:
    """The binary content of one ASCII-armored block with `label`; its CRC24, when present, must match."""
    try:
        lines = [line.strip() for line in text.decode("ascii").strip().splitlines()]
    except UnicodeDecodeError as error:
        raise SignatureFormatError(f"the {label} is not ASCII") from error
    begin, end = f"-----BEGIN {label}-----", f"-----END {label}-----"
    if len(lines) < 3 or lines[0] != begin or lines[-1] != end:
        raise SignatureFormatError(f"an armored {label} starts with {begin} and ends with {end}")
    body = lines[1:-1]
    if "" in body:  # armor headers (Version:, Comment:) end at the first blank line
        body = body[body.index("") + 1 :]
    checksum = None
    if body and body[-1].startswith("="):
        checksum = body.pop()
    try:
        data = base64.b64decode("".join(body), validate=True)
        expected = base64.b64decode(checksum[1:], validate=True) if checksum else None
    except (binascii.Error, ValueError) as error:
        raise SignatureFormatError(f"the {label} is not valid base64: {error}") from error
    if expected is not None and expected != _crc24(data).to_bytes(3, "big"):
        raise SignatureFormatError(f"the {label}'s checksum does not match: it is damaged")
    return data


def _crc24(data: bytes) -> int:
    crc = 0xB704CE
    for byte in data:
        crc ^= byte << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
    return crc & 0xFFFFFF


def packets(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(tag, body) of each packet; partial and indeterminate lengths are refused (keys and signatures never use
    them)."""
    reader = Reader(data, "the OpenPGP data")
    while not reader.done:
        header = reader.uint(1)
        if not header & 0x80:
            raise SignatureFormatError("not OpenPGP data (bad packet header)")
        if header & 0x40:
            tag, first = header & 0x3F, reader.uint(1)
            if first < 192:
                length = first
            elif first < 224:
                length = ((first - 192) << 8) + reader.uint(1) + 192
            elif first == 255:
                length = reader.uint(4)
            else:
                raise SignatureFormatError("OpenPGP partial body lengths are not supported here")
        else:
            tag, kind = (header >> 2) & 0x0F, header & 0x03
            if kind == 3:
                raise SignatureFormatError("OpenPGP indeterminate lengths are not supported here")
            length = reader.uint((1, 2, 4)[kind])
        yield tag, reader.take(length)


def parse_signature(armored: bytes) -> Signature:
    found = [body for tag, body in packets(dearmor(armored, SIGNATURE_ARMOR)) if tag == _SIGNATURE]
    if len(found) != 1:
        raise SignatureFormatError(f"expected one OpenPGP signature packet, found {len(found)}")
    body = found[0]
    reader = Reader(body, "the OpenPGP signature")
    if (version := reader.uint(1)) != 4:
        raise SignatureFormatError(f"OpenPGP signature version {version} is not supported (only 4)")
    signature_type, algorithm, hash_algorithm = reader.uint(1), reader.uint(1), reader.uint(1)
    hashed_area = reader.take(reader.uint(2))
    unhashed_area = reader.take(reader.uint(2))
    reader.take(2)  # the digest's first two bytes: a quick check only, the signature is what counts
    issuers: list[str] = []
    critical: list[int] = []
    for hashed, area in ((True, hashed_area), (False, unhashed_area)):
        for kind, is_critical, value in _subpackets(area):
            if kind == 16:
                issuers.append(value.hex().upper())
            elif kind == 33 and value:
                issuers.append(value[1:].hex().upper())
            if hashed and is_critical and kind not in _KNOWN_SUBPACKETS:
                critical.append(kind)
    return Signature(
        signature_type,
        algorithm,
        hash_algorithm,
        body[: 6 + len(hashed_area)],
        tuple(issuers),
        tuple(critical),
        reader.rest(),
    )


def _subpackets(area: bytes) -> Iterator[tuple[int, bool, bytes]]:
    reader = Reader(area, "the OpenPGP signature's subpackets")
    while not reader.done:
        first = reader.uint(1)
        if first < 192:
            length = first
        elif first < 255:
            length = ((first - 192) << 8) + reader.uint(1) + 192
        else:
            length = reader.uint(4)
        if length == 0:
            raise SignatureFormatError("an OpenPGP subpacket is empty")
        kind = reader.uint(1)
        yield kind & 0x7F, bool(kind & 0x80), reader.take(length - 1)


def parse_public_keys(armored: bytes) -> tuple[PublicKey, ...]:
    """Every version 4 key packet (primary keys and subkeys) of an armored public key block."""
    found: list[PublicKey] = []
    certificate = 0  # where the current certificate's keys start in `found`
    user_id = ""
    for tag, body in packets(dearmor(armored, PUBLIC_KEY_ARMOR)):
        if tag == _PUBLIC_KEY:
            certificate, user_id = len(found), ""
        if tag == _USER_ID and not user_id:
            user_id = body.decode("utf-8", errors="replace")
            found[certificate:] = [
                PublicKey(k.fingerprint, k.algorithm, k.material, user_id) for k in found[certificate:]
            ]
        if tag not in (_PUBLIC_KEY, _PUBLIC_SUBKEY):
            continue
        reader = Reader(body, "the OpenPGP public key")
        if reader.uint(1) != 4:
            continue  # other versions: not usable here
        reader.take(4)  # creation time
        algorithm = reader.uint(1)
        fingerprint = hashlib.sha1(b"\x99" + len(body).to_bytes(2, "big") + body, usedforsecurity=False)
        found.append(PublicKey(fingerprint.hexdigest().upper(), algorithm, reader.rest(), user_id))
    if not found:
        raise SignatureFormatError("the OpenPGP public key block holds no version 4 key")
    return tuple(found)


def names(signature: Signature, key: PublicKey) -> bool:
    """Whether the signature's issuer subpackets name `key` (a signature naming no issuer names every key)."""
    return not signature.issuers or any(key.fingerprint.endswith(issuer) for issuer in signature.issuers)


def verify(signature: Signature, message: bytes, key: PublicKey) -> bool:
    """Whether `signature` is a valid binary-document signature of `message` made with `key`."""
    if signature.signature_type != 0x00 or signature.critical_unknown or signature.hash_algorithm not in _HASHES:
        return False
    algorithm = _HASHES[signature.hash_algorithm]()
    digest = hashes.Hash(algorithm)
    digest.update(message + signature.hashed + b"\x04\xff" + len(signature.hashed).to_bytes(4, "big"))
    value = digest.finalize()
    try:
        return _check(signature, key, value, algorithm)
    except (InvalidSignature, SignatureFormatError, UnsupportedAlgorithm, ValueError):
        return False


def _check(signature: Signature, key: PublicKey, value: bytes, algorithm: hashes.HashAlgorithm) -> bool:
    material, sig = Reader(key.material, "the OpenPGP key"), Reader(signature.value, "the OpenPGP signature")
    if key.algorithm in (_RSA, _RSA_SIGN) and signature.algorithm in (_RSA, _RSA_SIGN):
        n, e = int.from_bytes(material.mpi(), "big"), int.from_bytes(material.mpi(), "big")
        public = rsa.RSAPublicNumbers(e, n).public_key()
        raw = sig.mpi().rjust((public.key_size + 7) // 8, b"\x00")
        public.verify(raw, value, padding.PKCS1v15(), Prehashed(algorithm))
        return True
    if key.algorithm == _ECDSA and signature.algorithm == _ECDSA:
        curve = _CURVES.get(material.take(material.uint(1)))
        if curve is None:
            return False
        public_point = ec.EllipticCurvePublicKey.from_encoded_point(curve, material.mpi())
        r, s = int.from_bytes(sig.mpi(), "big"), int.from_bytes(sig.mpi(), "big")
        public_point.verify(encode_dss_signature(r, s), value, ec.ECDSA(Prehashed(algorithm)))
        return True
    if key.algorithm == _EDDSA_LEGACY and signature.algorithm == _EDDSA_LEGACY:
        if material.take(material.uint(1)) != _ED25519_OID:
            return False
        point = material.mpi()
        if len(point) != 33 or point[0] != 0x40:
            return False
        raw = sig.mpi().rjust(32, b"\x00") + sig.mpi().rjust(32, b"\x00")
        ed25519.Ed25519PublicKey.from_public_bytes(point[1:]).verify(raw, value)
        return True
    if key.algorithm == _ED25519 and signature.algorithm == _ED25519:
        ed25519.Ed25519PublicKey.from_public_bytes(material.take(32)).verify(sig.take(64), value)
        return True
    return False
