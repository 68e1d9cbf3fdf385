"""Where the `kube` multi-call binary and `kine` are: `$EDGEOPS_BIN` (set by tests/env/common.sh, filled by
tests/env/install-kube.sh), else `$EDGEOPS_CACHE/bin`, else `~/.cache/edgeops/bin`, else `PATH`."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from reconciler.sandbox.localkube.errors import BinariesMissing

_INSTALL_HINT = "build them with: bash tests/env/install-kube.sh (or bash tests/env/bootstrap.sh)"


@dataclass(frozen=True)
class KubeBinaries:
    kube: Path
    kine: Path


def _candidate_dirs() -> list[Path]:
    dirs = []
    if os.environ.get("EDGEOPS_BIN"):
        dirs.append(Path(os.environ["EDGEOPS_BIN"]))
    if os.environ.get("EDGEOPS_CACHE"):
        dirs.append(Path(os.environ["EDGEOPS_CACHE"]) / "bin")
    dirs.append(Path.home() / ".cache" / "edgeops" / "bin")
    return dirs


def _find(name: str) -> Path | None:
    for directory in _candidate_dirs():
        path = directory / name
        if path.is_file() and os.access(path, os.X_OK):
            return path
    found = shutil.which(name)
    return Path(found) if found else None


def find_binaries() -> KubeBinaries:
    """Locate both binaries or raise `BinariesMissing` saying where it looked and how to build them."""
    kube, kine = _find("kube"), _find("kine")
    if kube is None or kine is None:
        missing = [name for name, path in (("kube", kube), ("kine", kine)) if path is None]
        looked = ", ".join(str(d) for d in _candidate_dirs())
        raise BinariesMissing(f"{' and '.join(missing)} not found in {looked} or PATH; {_INSTALL_HINT}")
    return KubeBinaries(kube=kube, kine=kine)
