"""Whether a commit may be applied: its signature (as git stores it in the `gpgsig` header) checked against the
trusted keys, over the commit object without that header — exactly the bytes `git verify-commit` checks.

    verify_signature(payload, signature, keys)   → Verification(VERIFIED | UNSIGNED | BAD_SIGNATURE | UNTRUSTED_KEY)
    judge(policy, payload, signature)            → the same, or NOT_REQUIRED when the policy does not ask for it

Which policy judges a commit is decided along the branch (`ChainState`): the one in force at the newest accepted
first-parent ancestor, never the one the commit itself brings, so a commit cannot trust its own key or turn the
check off for itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from reconciler.core.trust import openpgp, sshsig
from reconciler.core.trust.keys import OpenPgpKey, SshKey, TrustedKey
from reconciler.core.trust.wire import SignatureFormatError


class Outcome(StrEnum):
    VERIFIED = "verified"  # signed by a trusted key, and the signature is good
    NOT_REQUIRED = "not-required"  # the policy in force does not ask for signatures
    UNSIGNED = "unsigned"
    BAD_SIGNATURE = "bad-signature"  # unreadable, or not valid for this commit
    UNTRUSTED_KEY = "untrusted-key"  # a valid-looking signature by a key that is not trusted


@dataclass(frozen=True)
class Verification:
    outcome: Outcome
    detail: str
    key: str | None = None  # the trusted key that verified it: 'principals (fingerprint)'

    @property
    def accepted(self) -> bool:
        return self.outcome in (Outcome.VERIFIED, Outcome.NOT_REQUIRED)


@dataclass(frozen=True)
class TrustPolicy:
    required: bool
    keys: tuple[TrustedKey, ...] = ()
    problems: tuple[str, ...] = ()  # key files or lines that could not be read

    def union(self, other: TrustPolicy) -> TrustPolicy:
        return TrustPolicy(self.required or other.required, self.keys + other.keys, self.problems + other.problems)


NOT_REQUIRED = TrustPolicy(required=False)


def verify_signature(payload: bytes, signature: bytes | None, keys: Sequence[TrustedKey]) -> Verification:
    """Never raises: whatever `signature` holds, the answer is one of the outcomes."""
    if not signature:
        return Verification(Outcome.UNSIGNED, "not signed")
    if sshsig.is_armored(signature):
        return _verify_ssh(payload, signature, [k for k in keys if isinstance(k, SshKey)])
    if openpgp.is_armored(signature):
        return _verify_openpgp(payload, signature, [k for k in keys if isinstance(k, OpenPgpKey)])
    return Verification(Outcome.BAD_SIGNATURE, "the signature is neither an SSH nor an OpenPGP signature")


def _verify_ssh(payload: bytes, armored: bytes, keys: Sequence[SshKey]) -> Verification:
    try:
        signature = sshsig.parse(armored)
    except SignatureFormatError as error:
        return Verification(Outcome.BAD_SIGNATURE, str(error))
    fingerprint = sshsig.fingerprint(signature.public_key)
    trusted = [
        k
        for k in keys
        if k.public_key == signature.public_key and (k.namespaces is None or sshsig.GIT_NAMESPACE in k.namespaces)
    ]
    if not trusted:
        return Verification(Outcome.UNTRUSTED_KEY, f"signed with SSH key {fingerprint}, which is not trusted")
    if not sshsig.verify(signature, payload):
        return Verification(Outcome.BAD_SIGNATURE, f"the SSH signature by {fingerprint} does not match the commit")
    return Verification(Outcome.VERIFIED, f"signed by {trusted[0].name}", trusted[0].name)


def _verify_openpgp(payload: bytes, armored: bytes, keys: Sequence[OpenPgpKey]) -> Verification:
    try:
        signature = openpgp.parse_signature(armored)
    except SignatureFormatError as error:
        return Verification(Outcome.BAD_SIGNATURE, str(error))
    named = [k for k in keys if openpgp.names(signature, k.key)]
    issuer = signature.issuers[0] if signature.issuers else "an unnamed key"
    if not named:
        return Verification(Outcome.UNTRUSTED_KEY, f"signed with OpenPGP key {issuer}, which is not trusted")
    for key in named:
        if openpgp.verify(signature, payload, key.key):
            return Verification(Outcome.VERIFIED, f"signed by {key.name}", key.name)
    return Verification(Outcome.BAD_SIGNATURE, f"the OpenPGP signature by {issuer} does not match the commit")


def judge(policy: TrustPolicy, payload: bytes, signature: bytes | None) -> Verification:
    if not policy.required:
        return Verification(Outcome.NOT_REQUIRED, "signatures are not required")
    return verify_signature(payload, signature, policy.keys)


@dataclass(frozen=True)
class ChainState:
    """Walking a branch oldest to newest: the policy that judges the next commit and the newest accepted one."""

    policy: TrustPolicy
    accepted: str | None = None

    def advance(self, commit: str, verification: Verification, own_policy: TrustPolicy | None) -> ChainState:
        """After judging `commit` under `self.policy`: an accepted commit's own policy (None: its setting cannot
        be read) takes over for its descendants; a refused commit changes nothing."""
        if not verification.accepted:
            return self
        return ChainState(self.policy if own_policy is None else own_policy, commit)
