"""The input of the loader: the desired-state files of one revision, as bytes, however they were read.

Readers (a working tree, a git commit) live in `reconciler.shells.tree`; they report what they could not read as
problems so the loader can say where and why in one list with everything else.
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.core.load.problems import Problem

MAX_FILE_BYTES = 1024 * 1024
YAML_SUFFIXES = (".yaml", ".yml")
ROOTS = ("fleet", "zones", "models")
KEY_DIR = "fleet/keys"  # public keys the regions trust for model artifacts (fleet.yaml modelSigningKeys)


@dataclass(frozen=True)
class SourceFile:
    path: str  # repository-relative, '/'-separated
    data: bytes


@dataclass(frozen=True)
class SourceTree:
    files: tuple[SourceFile, ...]
    problems: tuple[Problem, ...] = ()
    revision: str | None = None  # commit SHA when read from git (or a clean working tree)
    origin: str = ""  # what was read, for messages: a directory or 'repo@rev'


def not_a_file(path: str, what: str) -> Problem:
    """Desired state is plain files: a submodule, a symlink to a directory or a special file is refused where it
    stands (its contents are not part of the revision, or reading it could block)."""
    return Problem(path, 0, 0, "layout.not-a-file", f"{what}; desired state must be plain files")


def is_public_key_path(path: str) -> bool:
    parts = path.split("/")
    return len(parts) == 3 and "/".join(parts[:2]) == KEY_DIR and parts[2].endswith(".pub")


def is_desired_state_path(path: str) -> bool:
    """The files the loader reads: fleet/fleet.yaml, fleet/policies/*, zones/**, models/*/model.yaml (YAML), and
    the public keys fleet/keys/*.pub."""
    if is_public_key_path(path):
        return True
    if not path.endswith(YAML_SUFFIXES):
        return False
    parts = path.split("/")
    if parts[0] == "fleet":
        return len(parts) == 2 or (len(parts) == 3 and parts[1] == "policies")
    if parts[0] == "zones":
        return True
    return parts[0] == "models" and len(parts) == 3 and parts[2] in ("model.yaml", "model.yml")
