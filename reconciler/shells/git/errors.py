"""Errors of the git shell (pygit2 underneath; its exceptions are chained, never leaked).

GitError                anything git could not do
├── GitRemoteError      clone, fetch or push failed (unreachable remote, rejected push, bad credentials)
└── GitRefError         a branch, commit or path that should exist does not
"""

from __future__ import annotations


class GitError(Exception):
    """Base of every error raised by `reconciler.shells.git`."""


class GitRemoteError(GitError):
    pass


class GitRefError(GitError):
    pass
