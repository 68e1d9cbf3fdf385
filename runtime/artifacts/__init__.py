"""Edge pull of model artifacts: fetch by digest from the region's OCI registry, verify, cache, hand over.

    ModelPuller.ensure(ref, digest) -> Path    a verified local file, from the cache or fetched now
    PullScheduler                             calls ensure per deployment every `pull.interval_s`, inside
                                              `pull.window`, and hands new files to the model manager's callback

Errors (PullError and subclasses) never escape the scheduler: a failed pull, verification or load is counted in
`edgeops_model_pull_failures_total{model,reason}`, kept in `PullStatus`, and the model that is serving stays.

    PullError
    ├── BadReference          the ref cannot name a registry blob (no host, bad digest)
    ├── RegistryUnavailable   no answer, timeout or 5xx: retried on the next interval
    ├── ArtifactNotFound      the registry has no blob with that digest (404)
    ├── AccessDenied          401/403 even after the token flow
    └── VerificationFailed    the bytes do not hash to the digest (tampered or corrupted): never placed
"""

from runtime.artifacts.errors import (
    AccessDenied,
    ArtifactNotFound,
    BadReference,
    PullError,
    RegistryUnavailable,
    VerificationFailed,
)
from runtime.artifacts.puller import ModelPuller, PullMetrics, PullStatus
from runtime.artifacts.reference import BlobLocation, parse_reference
from runtime.artifacts.schedule import PullScheduler, in_window

__all__ = [
    "AccessDenied",
    "ArtifactNotFound",
    "BadReference",
    "BlobLocation",
    "ModelPuller",
    "PullError",
    "PullMetrics",
    "PullScheduler",
    "PullStatus",
    "RegistryUnavailable",
    "VerificationFailed",
    "in_window",
    "parse_reference",
]
