"""Trusted keys, read from the files a fleet names: SSH keys in git's allowed-signers format, OpenPGP public keys
as armored blocks.

    # fleet/keys/allowed_signers: principals, optional namespaces="git", key type and key, optional comment
    release@example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA... release key
    ci@example.com,bot@example.com namespaces="git" ecdsa-sha2-nistp256 AAAAE2VjZHNh...

A file that starts with `-----BEGIN PGP PUBLIC KEY BLOCK-----` is read as OpenPGP keys, any other as allowed
signers. Each problem names the file and line; a line that cannot be read trusts nothing, the others still count.
Options other than `namespaces` (`cert-authority`, `valid-after`, `valid-before`) are refused rather than ignored,
so a key is never trusted more widely than its line says.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from reconciler.core.trust import openpgp, sshsig
from reconciler.core.trust.wire import SignatureFormatError

_OPTION = r'([A-Za-z-]+)(?:="([^"]*)")?'
_OPTIONS = re.compile(rf"{_OPTION}(?:,{_OPTION})*")


@dataclass(frozen=True)
class SshKey:
    principals: tuple[str, ...]
    public_key: bytes  # SSH wire format
    namespaces: tuple[str, ...] | None  # None: any namespace
    origin: str  # file:line

    @property
    def fingerprint(self) -> str:
        return sshsig.fingerprint(self.public_key)

    @property
    def name(self) -> str:
        return f"{','.join(self.principals)} ({self.fingerprint})"


@dataclass(frozen=True)
class OpenPgpKey:
    key: openpgp.PublicKey
    origin: str

    @property
    def fingerprint(self) -> str:
        return self.key.fingerprint

    @property
    def name(self) -> str:
        return f"{self.key.user_id or 'OpenPGP key'} ({self.key.fingerprint})"


TrustedKey = SshKey | OpenPgpKey


@dataclass(frozen=True)
class KeyFile:
    keys: tuple[TrustedKey, ...]
    problems: tuple[str, ...]  # 'fleet/keys/allowed_signers:3: ...'


def parse_key_file(origin: str, data: bytes) -> KeyFile:
    """The trusted keys in one file (`origin` names it in keys and problems)."""
    if data.lstrip().startswith(f"-----BEGIN {openpgp.PUBLIC_KEY_ARMOR}-----".encode()):
        try:
            return KeyFile(tuple(OpenPgpKey(k, origin) for k in openpgp.parse_public_keys(data)), ())
        except SignatureFormatError as error:
            return KeyFile((), (f"{origin}: {error}",))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return KeyFile((), (f"{origin}: not UTF-8 text (an allowed-signers file or an armored OpenPGP key)",))
    keys: list[TrustedKey] = []
    problems: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            keys.append(_allowed_signer(line, f"{origin}:{number}"))
        except ValueError as error:
            problems.append(f"{origin}:{number}: {error}")
    return KeyFile(tuple(keys), tuple(problems))


def _allowed_signer(line: str, origin: str) -> SshKey:
    fields = line.split()
    if len(fields) < 3:
        raise ValueError("expected 'principals [options] key-type base64-key [comment]'")
    principals = tuple(p for p in fields[0].split(",") if p)
    rest = fields[1:]
    namespaces: tuple[str, ...] | None = None
    if not _is_key_type(rest[0]):
        options = rest.pop(0)
        if not _OPTIONS.fullmatch(options):
            raise ValueError(f"options {options!r} cannot be read")
        for match in re.finditer(_OPTION, options):
            if match.group(1).lower() != "namespaces" or match.group(2) is None:
                raise ValueError(f'option {match.group(0)!r} is not supported (only namespaces="...")')
            namespaces = tuple(n for n in match.group(2).split(",") if n)
    if len(rest) < 2 or not _is_key_type(rest[0]):
        raise ValueError("expected a key type such as ssh-ed25519 and a base64 key after the principals")
    try:
        blob = base64.b64decode(rest[1], validate=True)
        declared = sshsig.key_type(blob)
        sshsig.load_public_key(blob)
    except (binascii.Error, ValueError) as error:
        raise ValueError(f"not a valid SSH public key: {error}") from error
    if declared != rest[0]:
        raise ValueError(f"the key is a {declared} key, not {rest[0]}")
    return SshKey(principals, blob, namespaces, origin)


def _is_key_type(word: str) -> bool:
    return word.startswith(("ssh-", "ecdsa-sha2-", "sk-"))
