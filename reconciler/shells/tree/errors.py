"""Errors of the tree readers."""


class TreeReadError(Exception):
    """The tree could not be read at all (missing directory, not a git repository, unknown revision)."""
