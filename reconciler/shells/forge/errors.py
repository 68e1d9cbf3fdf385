"""Errors of the forge shell (github3.py underneath; its exceptions are chained as `__cause__`, never leaked).

ForgeError                  anything the forge could not do
├── ForgeUnreachable        no answer (connection refused, DNS, TLS, timeout)
├── ForgeAuthError          401 / 403: missing or insufficient token
├── ForgeNotFound           404: no such repository, pull request, comment or user
├── ForgeConflict           409 / 422: the request conflicts with the current state (e.g. a PR already exists)
└── MergeRefused            405: not mergeable now (required checks missing, conflicts, closed)
"""

from __future__ import annotations


class ForgeError(Exception):
    """Base of every error raised by `reconciler.shells.forge`."""


class ForgeUnreachable(ForgeError):
    pass


class ForgeAuthError(ForgeError):
    pass


class ForgeNotFound(ForgeError):
    pass


class ForgeConflict(ForgeError):
    pass


class MergeRefused(ForgeError):
    pass
