"""Errors of the Kubernetes shell; the tree is documented in the package docstring."""

from __future__ import annotations


class KubeError(Exception):
    """Base of every error this package raises. `status` is the HTTP status when the server answered."""

    def __init__(self, message: str, status: int | None = None, reason: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


class KubeConfigError(KubeError):
    """The kubeconfig is missing, unreadable, or has no such context."""


class Unreachable(KubeError):
    """No answer: connection refused or reset, TLS failure, timeout, or the server is shutting down (5xx)."""


class Forbidden(KubeError):
    """401 or 403: our credentials may not do this."""


class NotFound(KubeError):
    """404: no such object (or no such kind: the CRD is not installed)."""


class Conflict(KubeError):
    """409: a field-manager conflict on apply, an optimistic-lock failure, or the object already exists."""


class Invalid(KubeError):
    """400 or 422: the server refused the object (schema, immutable field, admission)."""


def error_for_status(status: int, message: str, reason: str = "") -> KubeError:
    if status in (401, 403):
        return Forbidden(message, status, reason)
    if status == 404:
        return NotFound(message, status, reason)
    if status == 409:
        return Conflict(message, status, reason)
    if status in (400, 422):
        return Invalid(message, status, reason)
    if status == 0 or status >= 500 or status == 429:
        return Unreachable(message, status, reason)
    return KubeError(message, status, reason)
