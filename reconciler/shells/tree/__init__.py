"""Reading the desired-state files of one revision, from a working tree or straight from a git commit.

Both readers return a `SourceTree` holding the same files for the same content, so `load_tree` gives the same
result either way. What cannot be read safely is reported as a problem (never raised):

    layout.symlink-escape   a symlink that points outside the repository
    yaml.too-large          a file over MAX_FILE_BYTES (not read into memory)
    layout.not-a-file       a submodule, a symlink to a directory, a special file (whatever its name)

Errors that stop reading altogether raise `TreeReadError` (not a directory, not a repository, unknown revision).
"""

from reconciler.shells.tree.directory import read_directory
from reconciler.shells.tree.errors import TreeReadError
from reconciler.shells.tree.gitrev import read_revision

__all__ = ["TreeReadError", "read_directory", "read_revision"]
