"""Read desired state from a directory (a working tree)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from reconciler.core.load import (
    MAX_FILE_BYTES,
    ROOTS,
    Problem,
    SourceFile,
    SourceTree,
    is_desired_state_path,
    not_a_file,
)
from reconciler.shells.tree.errors import TreeReadError


def read_directory(root: Path) -> SourceTree:
    root = root.resolve()
    if not root.is_dir():
        raise TreeReadError(f"{root} is not a directory")
    files: list[SourceFile] = []
    problems: list[Problem] = []
    for top in ROOTS:
        base = root / top
        if base.is_symlink() or _is_submodule(base):
            problems.append(not_a_file(top, _describe(base)))
            continue
        if not base.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(base, followlinks=False):
            current = Path(dirpath)
            for name in [d for d in dirnames if (current / d).is_symlink() or _is_submodule(current / d)]:
                dirnames.remove(name)  # never descend: their contents are not files of this revision
                problems.append(not_a_file((current / name).relative_to(root).as_posix(), _describe(current / name)))
            dirnames.sort()
            for name in sorted(filenames):
                path = current / name
                rel = path.relative_to(root).as_posix()
                if not path.is_symlink() and not stat.S_ISREG(path.lstat().st_mode):
                    problems.append(not_a_file(rel, _describe(path)))  # a FIFO would block the read
                    continue
                if path.is_symlink() and path.is_dir():
                    problems.append(not_a_file(rel, _describe(path)))
                    continue
                if not is_desired_state_path(rel):
                    continue
                problem = _check(root, path, rel)
                if problem is not None:
                    problems.append(problem)
                    continue
                files.append(SourceFile(rel, path.read_bytes()))
    return SourceTree(files=tuple(files), problems=tuple(problems), origin=str(root))


def _is_submodule(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink() and (path / ".git").exists()


def _describe(path: Path) -> str:
    if path.is_symlink():
        return "a symlink to a directory"
    if _is_submodule(path):
        return "a submodule (a nested git checkout)"
    return "not a regular file (a FIFO, socket or device)"


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
