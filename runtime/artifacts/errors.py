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


class SignatureRejected(PullError):
    """Not signed by a key the region trusts; `reason` says how (unsigned, signature_untrusted, ...)."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason
