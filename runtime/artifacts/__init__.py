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
    ├── VerificationFailed    the bytes do not hash to the digest (tampered or corrupted): never placed
    └── SignatureRejected     no trusted cosign signature (reason: unsigned, signature_untrusted,
                              signature_digest_mismatch, signature_malformed, manifest_mismatch): never placed
"""

from runtime.artifacts.errors import (
    AccessDenied,
    ArtifactNotFound,
    BadReference,
    PullError,
    RegistryUnavailable,
    SignatureRejected,
    VerificationFailed,
)
from runtime.artifacts.puller import UNVERIFIED, ModelPuller, PullMetrics, PullStatus
from runtime.artifacts.reference import BlobLocation, parse_reference
from runtime.artifacts.schedule import PullScheduler, in_window
from runtime.artifacts.signatures import SignatureVerifier

__all__ = [
    "UNVERIFIED",
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
    "SignatureRejected",
    "SignatureVerifier",
    "VerificationFailed",
    "in_window",
    "parse_reference",
]
