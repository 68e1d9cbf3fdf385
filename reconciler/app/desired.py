"""Load the desired state of a repository: from its working tree, or from a commit without checking it out."""

from __future__ import annotations

from pathlib import Path

from reconciler.core.load import LoadResult, load_tree
from reconciler.shells.tree import read_directory, read_revision


def load_desired(path: Path, rev: str | None = None) -> LoadResult:
    """`rev=None` reads the files as they are on disk; otherwise the tree of that commit (e.g. 'HEAD', a SHA).

    Raises `reconciler.shells.tree.TreeReadError` when the directory, repository or revision cannot be read.
    """
    tree = read_directory(path) if rev is None else read_revision(path, rev)
    return load_tree(tree)
