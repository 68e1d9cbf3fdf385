"""The fleet's commit-verification setting (`spec.git.verify` in fleet/fleet.yaml) turned into a `TrustPolicy`.

setting = verification_setting(fleet_yaml_bytes)        # CommitVerification | None, or SettingUnreadable
policy = trust_policy(setting, {ref: bytes | None})     # the key files it names, read by the caller
"""

from __future__ import annotations

from collections.abc import Mapping

from reconciler.core.load import Problem, read_document, validate_document
from reconciler.core.spec import CommitVerification, Fleet, TrustedKeyRef
from reconciler.core.trust.keys import TrustedKey, parse_key_file
from reconciler.core.trust.verify import NOT_REQUIRED, TrustPolicy

FLEET_FILE = "fleet/fleet.yaml"


class SettingUnreadable(ValueError):
    """fleet/fleet.yaml does not load, so its verification setting is unknown (never taken as 'off')."""


def verification_setting(fleet_yaml: bytes | None) -> CommitVerification | None:
    if fleet_yaml is None:
        raise SettingUnreadable(f"{FLEET_FILE} is missing")
    doc = read_document(FLEET_FILE, fleet_yaml)
    if isinstance(doc, Problem):
        raise SettingUnreadable(f"{doc.file}:{doc.line}:{doc.column}: {doc.message}")
    fleet = validate_document(doc, "Fleet")
    if isinstance(fleet, list):
        first = fleet[0]
        raise SettingUnreadable(f"{first.file}:{first.line}:{first.column}: {first.message}")
    assert isinstance(fleet, Fleet)
    return fleet.spec.git.verify


def key_label(ref: TrustedKeyRef) -> str:
    """How a key file is named in messages: its repository path, or its host path."""
    return ref.path if ref.path is not None else f"file {ref.file}"


def trust_policy(setting: CommitVerification | None, files: Mapping[TrustedKeyRef, bytes | None]) -> TrustPolicy:
    """The policy `setting` asks for, with the key files it names (`files[ref]`: None when it could not be read).
    A file that cannot be read is a problem and trusts nothing; the others still count."""
    if setting is None:
        return NOT_REQUIRED
    keys: list[TrustedKey] = []
    problems: list[str] = []
    for ref in setting.trusted_keys:
        data = files.get(ref)
        if data is None:
            problems.append(f"{key_label(ref)}: cannot be read")
            continue
        parsed = parse_key_file(key_label(ref), data)
        keys += parsed.keys
        problems += parsed.problems
    return TrustPolicy(required=True, keys=tuple(keys), problems=tuple(problems))
