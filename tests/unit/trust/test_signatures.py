"""Commit signature verification, pure: SSH signatures (SSHSIG, made here with Ed25519, ECDSA and RSA keys) and
OpenPGP signatures (made by gpg, kept in tests/data/trust with their public keys), checked against trusted keys.

Matrix: each key kind × (verified | untrusted key | tampered payload | wrong namespace | unsigned); generated damage
to payload and signature bytes (flipped, truncated, appended) never raises and never verifies; allowed-signers lines
with unsupported options or malformed keys are refused with their file and line; the policy in force along a chain
is the newest accepted commit's, never the judged commit's own (named steps and generated branches); the fleet
setting's errors are positioned and never read as "off"; unreadable key files are named and trust nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.core.trust import (
    NOT_REQUIRED,
    ChainState,
    Outcome,
    SettingUnreadable,
    TrustPolicy,
    judge,
    parse_key_file,
    sshsig,
    trust_policy,
    verification_setting,
    verify_signature,
)

pytestmark = pytest.mark.unit

DATA = Path(__file__).resolve().parents[2] / "data" / "trust"
PAYLOAD = (DATA / "payload.txt").read_bytes()

ED25519 = ed25519.Ed25519PrivateKey.generate()
ECDSA = ec.generate_private_key(ec.SECP256R1())
RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER = ed25519.Ed25519PrivateKey.generate()


def allowed_signer(principal: str, key: sshsig.SigningKey, options: str = "") -> str:
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return f"{principal} {options + ' ' if options else ''}{public.decode()}"


SSH_KEYS = parse_key_file(
    "fleet/keys/allowed_signers",
    "\n".join(
        allowed_signer(f"{n}@example.com", k) for n, k in (("ed", ED25519), ("ec", ECDSA), ("rsa", RSA))
    ).encode(),
).keys
PGP_KEYS = (
    parse_key_file("ed.asc", (DATA / "openpgp-ed25519.asc").read_bytes()).keys
    + parse_key_file("rsa.asc", (DATA / "openpgp-rsa.asc").read_bytes()).keys
)
ALL_KEYS = SSH_KEYS + PGP_KEYS
SIGNATURES = {
    "ssh-ed25519": sshsig.sign(PAYLOAD, ED25519),
    "ssh-ecdsa": sshsig.sign(PAYLOAD, ECDSA),
    "ssh-rsa": sshsig.sign(PAYLOAD, RSA),
    "openpgp-ed25519": (DATA / "payload.ed25519.sig").read_bytes(),
    "openpgp-rsa": (DATA / "payload.rsa.sig").read_bytes(),
}


@pytest.mark.parametrize("kind", sorted(SIGNATURES))
def test_a_signature_by_a_trusted_key_verifies(kind: str) -> None:
    result = verify_signature(PAYLOAD, SIGNATURES[kind], ALL_KEYS)
    assert result.outcome is Outcome.VERIFIED, result.detail
    assert result.key is not None


@pytest.mark.parametrize("kind", sorted(SIGNATURES))
def test_a_signature_by_a_key_not_trusted_is_refused(kind: str) -> None:
    others = PGP_KEYS if kind.startswith("ssh") else SSH_KEYS
    result = verify_signature(PAYLOAD, SIGNATURES[kind], others)
    assert result.outcome is Outcome.UNTRUSTED_KEY
    assert not result.accepted


@pytest.mark.parametrize("kind", sorted(SIGNATURES))
def test_a_changed_payload_is_a_bad_signature(kind: str) -> None:
    changed = PAYLOAD.replace(b"a signed change", b"another change")
    assert verify_signature(changed, SIGNATURES[kind], ALL_KEYS).outcome is Outcome.BAD_SIGNATURE


def test_an_ssh_signature_for_another_namespace_never_verifies() -> None:
    signature = sshsig.sign(PAYLOAD, ED25519, namespace="file")
    assert verify_signature(PAYLOAD, signature, SSH_KEYS).outcome is Outcome.BAD_SIGNATURE


def test_a_key_limited_to_other_namespaces_is_not_trusted_for_commits() -> None:
    keys = parse_key_file("signers", allowed_signer("ed@example.com", ED25519, 'namespaces="file"').encode()).keys
    assert verify_signature(PAYLOAD, SIGNATURES["ssh-ed25519"], keys).outcome is Outcome.UNTRUSTED_KEY
    keys = parse_key_file("signers", allowed_signer("ed@example.com", ED25519, 'namespaces="file,git"').encode()).keys
    assert verify_signature(PAYLOAD, SIGNATURES["ssh-ed25519"], keys).outcome is Outcome.VERIFIED


def test_a_signature_naming_one_key_and_made_by_another_is_refused() -> None:
    # The signature's embedded public key is a trusted one, its signature bytes come from another key.
    genuine = sshsig.parse(sshsig.sign(PAYLOAD, ED25519))
    forged = sshsig.parse(sshsig.sign(PAYLOAD, OTHER))
    mixed = sshsig.SshSignature(
        genuine.public_key, forged.namespace, forged.hash_algorithm, forged.algorithm, forged.signature
    )
    assert not sshsig.verify(mixed, PAYLOAD)


def test_unsigned_and_unknown_formats() -> None:
    assert verify_signature(PAYLOAD, None, ALL_KEYS).outcome is Outcome.UNSIGNED
    assert verify_signature(PAYLOAD, b"", ALL_KEYS).outcome is Outcome.UNSIGNED
    assert verify_signature(PAYLOAD, b"-----BEGIN X509-----", ALL_KEYS).outcome is Outcome.BAD_SIGNATURE


@settings(max_examples=150, deadline=None)
@given(
    kind=st.sampled_from(sorted(SIGNATURES)),
    position=st.floats(min_value=0, max_value=1, exclude_max=True),
    byte=st.integers(min_value=0, max_value=255),
)
def test_any_single_byte_change_to_payload_or_signature_never_verifies(kind: str, position: float, byte: int) -> None:
    signature = SIGNATURES[kind]
    for payload, sig, data in ((PAYLOAD, signature, "payload"), (PAYLOAD, signature, "signature")):
        target = bytearray(payload if data == "payload" else sig)
        at = int(position * len(target))
        if target[at] == byte:
            continue
        target[at] = byte
        damaged = (bytes(target), sig) if data == "payload" else (payload, bytes(target))
        result = verify_signature(*damaged, ALL_KEYS)
        # A changed base64 character may decode to the same bytes (padding bits): then the signature is unchanged.
        if result.accepted:
            assert data == "signature"
            assert _armored_body_equal(bytes(target), sig)


def _armored_body_equal(a: bytes, b: bytes) -> bool:
    import base64

    def body(data: bytes) -> bytes:
        lines = [x.strip() for x in data.splitlines()[1:-1] if x.strip() and not x.startswith(b"=")]
        try:
            return base64.b64decode(b"".join(lines))
        except ValueError:
            return b"?"

    return body(a) == body(b)


@settings(max_examples=150, deadline=None)
@given(kind=st.sampled_from(sorted(SIGNATURES)), cut=st.integers(min_value=0, max_value=2000), tail=st.binary())
def test_truncated_or_extended_signatures_never_verify(kind: str, cut: int, tail: bytes) -> None:
    signature = SIGNATURES[kind].rstrip()
    truncated = signature[: min(cut, len(signature) - 1)]
    assert not verify_signature(PAYLOAD, truncated, ALL_KEYS).accepted
    extended = truncated + tail
    # Only the signature itself, give or take surrounding whitespace, verifies.
    assert not verify_signature(PAYLOAD, extended, ALL_KEYS).accepted or extended.strip() == signature


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=600))
def test_arbitrary_bytes_as_signature_or_key_file_never_raise(data: bytes) -> None:
    for prefix in (b"", b"-----BEGIN SSH SIGNATURE-----\n", b"-----BEGIN PGP SIGNATURE-----\n\n"):
        assert not verify_signature(PAYLOAD, prefix + data, ALL_KEYS).accepted
    parse_key_file("any", data)
    parse_key_file("any", b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n" + data)


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("ed@example.com", "expected 'principals"),
        ("ed@example.com cert-authority ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA", "is not supported"),
        ('ed@example.com valid-after="20260101" ssh-ed25519 AAAA', "is not supported"),
        ("ed@example.com ssh-ed25519 not-base64!", "not a valid SSH public key"),
        ("ed@example.com ssh-rsa " + allowed_signer("x", ED25519).split()[2], "is a ssh-ed25519 key, not ssh-rsa"),
    ],
)
def test_allowed_signers_lines_that_cannot_be_trusted_are_problems_with_their_line(line: str, problem: str) -> None:
    good = allowed_signer("ed@example.com", ED25519)
    parsed = parse_key_file("fleet/keys/allowed_signers", f"# trusted\n{good}\n{line}\n".encode())
    assert len(parsed.keys) == 1
    (found,) = parsed.problems
    assert found.startswith("fleet/keys/allowed_signers:3: ")
    assert problem in found


def test_a_damaged_openpgp_key_file_is_a_problem() -> None:
    text = (DATA / "openpgp-ed25519.asc").read_bytes().replace(b"\n=", b"\nA=", 1)
    parsed = parse_key_file("fleet/keys/release.asc", text)
    assert parsed.keys == ()
    assert parsed.problems[0].startswith("fleet/keys/release.asc: ")


def test_along_a_chain_a_commit_is_judged_by_the_policy_before_it() -> None:
    strict = TrustPolicy(required=True, keys=SSH_KEYS[:1])
    signed, unsigned = SIGNATURES["ssh-ed25519"], None
    state = ChainState(NOT_REQUIRED)
    # An unsigned commit turning verification on is accepted (nothing was required before it)...
    verdict = judge(state.policy, PAYLOAD, unsigned)
    state = state.advance("c1", verdict, strict)
    assert (verdict.outcome, state.accepted) == (Outcome.NOT_REQUIRED, "c1")
    # ... an unsigned commit turning it off again is not: its own policy never judges it.
    verdict = judge(state.policy, PAYLOAD, unsigned)
    state = state.advance("c2", verdict, NOT_REQUIRED)
    assert (verdict.outcome, state.accepted, state.policy) == (Outcome.UNSIGNED, "c1", strict)
    verdict = judge(state.policy, PAYLOAD, signed)
    state = state.advance("c3", verdict, None)  # its setting unreadable: the policy in force stays
    assert (verdict.outcome, state.accepted, state.policy) == (Outcome.VERIFIED, "c3", strict)


# One signature per SSH key (and none), and policies over any subset of those keys, for generated branches.
CHAIN_SIGNERS: tuple[bytes | None, ...] = (
    SIGNATURES["ssh-ed25519"],
    SIGNATURES["ssh-ecdsa"],
    SIGNATURES["ssh-rsa"],
    None,
)
policies = st.one_of(
    st.none(),  # the commit's fleet.yaml does not load
    st.just(NOT_REQUIRED),
    st.sets(st.sampled_from(range(len(SSH_KEYS)))).map(
        lambda chosen: TrustPolicy(required=True, keys=tuple(SSH_KEYS[i] for i in sorted(chosen)))
    ),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(range(len(CHAIN_SIGNERS))), policies), max_size=12))
def test_along_any_branch_only_keys_trusted_by_accepted_commits_are_ever_honoured(
    branch: list[tuple[int, TrustPolicy | None]],
) -> None:
    state = ChainState(NOT_REQUIRED)
    in_force = NOT_REQUIRED  # kept here independently: the newest accepted commit's readable policy
    for number, (signer, own) in enumerate(branch):
        verdict = judge(state.policy, PAYLOAD, CHAIN_SIGNERS[signer])
        expected = not in_force.required or (signer < len(SSH_KEYS) and SSH_KEYS[signer] in in_force.keys)
        assert verdict.accepted is expected, (number, verdict)
        state = state.advance(f"c{number}", verdict, own)
        if expected and own is not None:
            in_force = own
        assert state.policy == in_force


FLEET_YAML = (Path(__file__).resolve().parents[3] / "fleet" / "fleet.yaml").read_bytes()


def _with_verify(block: str) -> bytes:
    return FLEET_YAML.replace(b"    branch: main\n", b"    branch: main\n    verify:\n" + block.encode(), 1)


def test_the_verification_setting_is_read_from_fleet_yaml() -> None:
    assert verification_setting(FLEET_YAML) is None
    setting = verification_setting(_with_verify("      trustedKeys:\n        - path: fleet/keys/allowed_signers\n"))
    assert setting is not None
    assert [ref.path for ref in setting.trusted_keys] == ["fleet/keys/allowed_signers"]


@pytest.mark.parametrize(
    ("block", "problem"),
    [
        ("      trustedKeys: []\n", "at least 1 item"),
        ("      trustedKeys:\n        - path: a\n          file: /b\n", "set exactly one of 'path'"),
        ("      trustedKeys:\n        - path: ../outside\n", "must be relative to the repository root"),
        ("      trustedKeys:\n        - path: /etc/keys\n", "must be relative to the repository root"),
        ("      trustedKeys:\n        - file: keys/relative\n", "must be an absolute path"),
        ("      trustedKey:\n        - path: fleet/keys/x\n", "trustedKey"),
    ],
)
def test_a_bad_verification_setting_is_a_positioned_error_never_off(block: str, problem: str) -> None:
    with pytest.raises(SettingUnreadable, match=r"^fleet/fleet\.yaml:\d+:\d+: ") as raised:
        verification_setting(_with_verify(block))
    assert problem in str(raised.value)
    with pytest.raises(SettingUnreadable, match="is missing"):
        verification_setting(None)


def test_key_files_that_cannot_be_read_trust_nothing_and_are_named() -> None:
    setting = verification_setting(
        _with_verify("      trustedKeys:\n        - path: fleet/keys/a\n        - file: /etc/edgeops/b\n")
    )
    assert setting is not None
    a, b = setting.trusted_keys
    policy = trust_policy(setting, {a: allowed_signer("ed@example.com", ED25519).encode(), b: None})
    assert policy.required
    assert len(policy.keys) == 1
    assert policy.problems == ("file /etc/edgeops/b: cannot be read",)
    assert trust_policy(None, {}) == NOT_REQUIRED
