"""The puller's error tree (see the package docstring); `reason` is the metric label for each kind."""

from __future__ import annotations


class PullError(Exception):
    reason = "error"


class BadReference(PullError):
    reason = "reference"


class RegistryUnavailable(PullError):
    reason = "unavailable"


class ArtifactNotFound(PullError):
    reason = "not_found"


class AccessDenied(PullError):
    reason = "denied"


class VerificationFailed(PullError):
    reason = "verification"
