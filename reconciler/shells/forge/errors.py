"""Errors of the forge shell (github3.py underneath; its exceptions are chained as `__cause__`, never leaked).

ForgeError                  anything the forge could not do
├── ForgeUnreachable        no answer (connection refused, DNS, TLS, timeout)
├── ForgeAuthError          401 / 403: missing or insufficient token
├── ForgeNotFound           404: no such repository, pull request, comment or user
├── ForgeConflict           409: the request conflicts with the current state (e.g. the branch moved)
│   └── PullRequestExists   422 whose errors say an open pull request from this head already exists
├── ForgeInvalid            any other 422: the forge refused the request's content (a body or title too long,
│                           an invalid base or head, ...); carries GitHub's message and its `errors` list
└── MergeRefused            405: not mergeable now (required checks missing, conflicts, closed)

A 422 is "Unprocessable Entity" for every kind of refusal; only its `errors` tell an existing pull request (which
a caller may adopt) from input that no retry will make acceptable.
"""

from __future__ import annotations

from collections.abc import Mapping


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


class PullRequestExists(ForgeConflict):
    pass


class ForgeInvalid(ForgeError):
    """The forge refused what was sent. `message` is the forge's own ("Validation Failed"); `errors` its details,
    each a mapping with `resource`, `field`, `code` and `message` where the forge gave them."""

    def __init__(self, text: str, *, message: str = "", errors: tuple[Mapping[str, object], ...] = ()) -> None:
        super().__init__(text)
        self.message = message
        self.errors = errors


class MergeRefused(ForgeError):
    pass
