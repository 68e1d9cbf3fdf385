"""Commit signatures: which commits of the fleet repository may be applied, decided from the commit's bytes, its
signature and the trusted keys alone (SSH signatures in the SSHSIG format, OpenPGP signatures; see
docs/commit-signing.md).

    policy = trust_policy(verification_setting(fleet_yaml), key_files)
    judge(policy, payload, signature)      # Verification: VERIFIED, NOT_REQUIRED, UNSIGNED, BAD_SIGNATURE, ...
    sshsig.sign(payload, private_key)      # what the bot puts in its commits' gpgsig header
"""

from reconciler.core.trust import openpgp, sshsig
from reconciler.core.trust.keys import KeyFile, OpenPgpKey, SshKey, TrustedKey, parse_key_file
from reconciler.core.trust.setting import (
    FLEET_FILE,
    SettingUnreadable,
    key_label,
    trust_policy,
    verification_setting,
)
from reconciler.core.trust.verify import (
    NOT_REQUIRED,
    ChainState,
    Outcome,
    TrustPolicy,
    Verification,
    judge,
    verify_signature,
)
from reconciler.core.trust.wire import SignatureFormatError

__all__ = [
    "FLEET_FILE",
    "NOT_REQUIRED",
    "ChainState",
    "KeyFile",
    "OpenPgpKey",
    "Outcome",
    "SettingUnreadable",
    "SignatureFormatError",
    "SshKey",
    "TrustPolicy",
    "TrustedKey",
    "Verification",
    "judge",
    "key_label",
    "openpgp",
    "parse_key_file",
    "sshsig",
    "trust_policy",
    "verification_setting",
    "verify_signature",
]
