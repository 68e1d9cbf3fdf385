"""Errors of the local Kubernetes environment; the tree is documented in the package docstring."""

from __future__ import annotations


class LocalKubeError(Exception):
    """Base of every error this package raises."""


class BinariesMissing(LocalKubeError):
    """`kube` or `kine` is not installed where it was looked for."""


class ZoneStartError(LocalKubeError):
    """A zone's process exited or did not become ready in time; the message carries the log tail."""


class PortInUse(ZoneStartError):
    """A restarted apiserver could not bind its old port again (something else took it meanwhile)."""


class ApiRequestError(LocalKubeError):
    """A bootstrap request to a zone's apiserver (CRDs, RBAC) failed; carries the HTTP status and reply."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class CrdSourceError(LocalKubeError):
    """A CustomResourceDefinition file is missing or not a CRD; the message names the file."""
