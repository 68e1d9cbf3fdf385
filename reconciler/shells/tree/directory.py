"""Read desired state from a directory (a working tree)."""

from __future__ import annotations

import os
from pathlib import Path

from reconciler.core.load import MAX_FILE_BYTES, ROOTS, Problem, SourceFile, SourceTree, is_desired_state_path
from reconciler.shells.tree.errors import TreeReadError


def read_directory(root: Path) -> SourceTree:
    root = root.resolve()
    if not root.is_dir():
        raise TreeReadError(f"{root} is not a directory")
    files: list[SourceFile] = []
    problems: list[Problem] = []
    for top in ROOTS:
        base = root / top
        if not base.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(base, followlinks=False):
            dirnames.sort()
            current = Path(dirpath)
            for name in sorted([*filenames, *(d for d in dirnames if (current / d).is_symlink())]):
                path = current / name
                rel = path.relative_to(root).as_posix()
                if not is_desired_state_path(rel):
                    continue
                problem = _check(root, path, rel)
                if problem is not None:
                    problems.append(problem)
                    continue
                files.append(SourceFile(rel, path.read_bytes()))
    return SourceTree(files=tuple(files), problems=tuple(problems), origin=str(root))


def _check(root: Path, path: Path, rel: str) -> Problem | None:
    if path.is_symlink():
        target = path.resolve()
        if not target.is_relative_to(root):
            return Problem(rel, 0, 0, "layout.symlink-escape", "symlink points outside the repository; it is not read")
        if not target.is_file():
            return Problem(rel, 0, 0, "layout.symlink-escape", "symlink does not point to a file inside the repository")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        return Problem(rel, 0, 0, "yaml.too-large", f"file is {size} bytes; the limit is {MAX_FILE_BYTES}")
    return None
