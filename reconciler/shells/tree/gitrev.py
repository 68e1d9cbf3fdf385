"""Read desired state from a commit of a git repository with pygit2: no checkout, no working tree involved."""

from __future__ import annotations

import posixpath
from pathlib import Path

import pygit2

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

_SYMLINK = 0o120000
_MAX_LINK_HOPS = 8


def open_repository(path: Path) -> pygit2.Repository:
    try:
        discovered = pygit2.discover_repository(str(path))
        if discovered is None:
            raise TreeReadError(f"{path} is not inside a git repository")
        return pygit2.Repository(discovered)
    except pygit2.GitError as exc:
        raise TreeReadError(f"cannot open git repository at {path}: {exc}") from exc


def resolve_commit(repo: pygit2.Repository, rev: str) -> pygit2.Commit:
    try:
        obj = repo.revparse_single(rev)
        commit = obj.peel(pygit2.Commit)
    except (KeyError, ValueError, pygit2.GitError) as exc:
        raise TreeReadError(f"unknown revision {rev!r} in {repo.path}") from exc
    assert isinstance(commit, pygit2.Commit)
    return commit


def read_revision(path: Path, rev: str = "HEAD") -> SourceTree:
    repo = open_repository(path)
    commit = resolve_commit(repo, rev)
    tree = commit.tree
    files: list[SourceFile] = []
    problems: list[Problem] = []
    for rel, entry in _walk(tree, ""):
        target = _resolve(repo, tree, rel, entry)
        if isinstance(target, Problem):
            if is_desired_state_path(rel):
                problems.append(target)
            continue
        if target.type_str != "blob":
            # a submodule, or a symlink to a directory: what it holds is not in this commit's files
            problems.append(not_a_file(rel, _describe(entry, target)))
            continue
        if not is_desired_state_path(rel):
            continue
        blob = repo[target.id]
        assert isinstance(blob, pygit2.Blob)
        if blob.size > MAX_FILE_BYTES:
            problems.append(
                Problem(rel, 0, 0, "yaml.too-large", f"file is {blob.size} bytes; the limit is {MAX_FILE_BYTES}")
            )
            continue
        files.append(SourceFile(rel, bytes(blob.data)))
    return SourceTree(
        files=tuple(files),
        problems=tuple(problems),
        revision=str(commit.id),
        origin=f"{repo.workdir or repo.path}@{rev}",
    )


def _walk(tree: pygit2.Tree, prefix: str) -> list[tuple[str, pygit2.Object]]:
    """Every entry under the roots that is not a directory (the roots themselves included when they are not)."""
    found: list[tuple[str, pygit2.Object]] = []
    for entry in sorted(tree, key=lambda e: e.name or ""):
        name = f"{prefix}{entry.name}"
        if not prefix and entry.name not in ROOTS:
            continue
        if entry.type_str == "tree":
            assert isinstance(entry, pygit2.Tree)
            found += _walk(entry, f"{name}/")
        else:
            found.append((name, entry))
    return found


def _describe(entry: pygit2.Object, target: pygit2.Object) -> str:
    if entry.filemode == _SYMLINK:
        return "a symlink to a directory" if target.type_str == "tree" else "a symlink to a submodule"
    return "a submodule (gitlink)" if target.type_str == "commit" else f"a {target.type_str} entry"


def _resolve(repo: pygit2.Repository, root: pygit2.Tree, rel: str, entry: pygit2.Object) -> pygit2.Object | Problem:
    """The entry a path stands for, following symlinks that stay inside the repository."""
    path = rel
    for _ in range(_MAX_LINK_HOPS):
        if entry.filemode != _SYMLINK:
            return entry
        link = repo[entry.id]
        assert isinstance(link, pygit2.Blob)
        target = posixpath.normpath(posixpath.join(posixpath.dirname(path), link.data.decode("utf-8", "replace")))
        if target.startswith(("../", "/")) or target == "..":
            return Problem(rel, 0, 0, "layout.symlink-escape", "symlink points outside the repository; it is not read")
        try:
            entry = root if target == "." else root[target]
        except KeyError:
            return Problem(rel, 0, 0, "layout.symlink-escape", "symlink does not point to a file inside the repository")
        path = target
    return Problem(rel, 0, 0, "layout.symlink-escape", "too many levels of symlinks")
