"""OCI registry access for model artifacts, through the `oras` client.

Errors (each chains the underlying requests/oras exception when there is one):

    RegistryError
    ├── RegistryUnreachable   no HTTP answer (connection refused, DNS, timeout): try again later
    ├── RegistryRejected      the registry answered with an error status (`status`, registry's message)
    └── DigestMismatch        the registry computed another digest than ours for what we pushed
"""

from reconciler.shells.registry.client import (
    DigestMismatch,
    PushedArtifact,
    RegistryClient,
    RegistryError,
    RegistryLocation,
    RegistryRejected,
    RegistryUnreachable,
    parse_registry,
)

__all__ = [
    "DigestMismatch",
    "PushedArtifact",
    "RegistryClient",
    "RegistryError",
    "RegistryLocation",
    "RegistryRejected",
    "RegistryUnreachable",
    "parse_registry",
]
