"""Model signing keys: the public key files under fleet/keys/ that fleet.yaml's regions reference.

keys.invalid   a fleet/keys/*.pub file that is not one PEM ECDSA P-256 public key (cosign's kind)
keys.missing   a region references a key file the revision does not have
secret.plaintext  private key material in fleet/keys/ (it must never be committed)
"""

from __future__ import annotations

from collections.abc import Mapping

from reconciler.core.load.crossref import Loaded
from reconciler.core.load.problems import Problem
from reconciler.core.load.secrets import HOW_TO
from reconciler.core.spec import Fleet
from runtime import cosign

MAX_KEY_BYTES = 16 * 1024


def read_keys(files: Mapping[str, bytes]) -> tuple[dict[str, str], list[Problem]]:
    """PEM text per valid key path, and a problem for each file that is not a public key."""
    keys: dict[str, str] = {}
    problems: list[Problem] = []
    for path, data in sorted(files.items()):
        text = data[: MAX_KEY_BYTES + 1].decode("ascii", errors="replace")
        if "PRIVATE KEY" in text:
            message = f"this file holds a private key; commit only the public key (cosign public-key); {HOW_TO}"
            problems.append(Problem(path, 0, 0, "secret.plaintext", message))
            continue
        if len(data) > MAX_KEY_BYTES:
            problems.append(Problem(path, 0, 0, "keys.invalid", f"{len(data)} bytes; a public key is far smaller"))
            continue
        try:
            key = cosign.load_public_key(data, name=path)
        except cosign.CosignError as error:
            problems.append(Problem(path, 0, 0, "keys.invalid", str(error).removeprefix(f"{path}: ")))
            continue
        keys[path] = cosign.public_key_pem(key)
    return keys, problems


def check_references(fleet: Loaded[Fleet] | None, present: set[str]) -> list[Problem]:
    """Each region's modelSigningKeys names a key file of this revision (a broken one is reported once)."""
    if fleet is None:
        return []
    problems: list[Problem] = []
    for index, region in enumerate(fleet.spec.spec.regions):
        for position, path in enumerate(region.model_signing_keys):
            if path not in present:
                where = ("spec", "regions", index, "modelSigningKeys", position)
                problems.append(
                    fleet.at(where, "keys.missing", f"region {region.name}: no key file {path} in this revision")
                )
    return problems
