"""Pure model-artifact logic: the build manifest, OCI media types and annotations, numeric parity, compat tables."""

from reconciler.core.modelops.compat import ALL_TARGETS, TargetResult, overall, parse_targets, render_table
from reconciler.core.modelops.manifest import ArtifactManifest, ManifestError, describe_onnx, sha256_digest
from reconciler.core.modelops.oci import MANIFEST_MEDIA_TYPE, ModelArtifact, build_artifact
from reconciler.core.modelops.parity import Tolerance, compare
from reconciler.core.modelops.signature import signature_mismatches
from reconciler.core.modelops.signing_key import SigningKeyError, load_signing_key

__all__ = [
    "ALL_TARGETS",
    "MANIFEST_MEDIA_TYPE",
    "ArtifactManifest",
    "ManifestError",
    "ModelArtifact",
    "SigningKeyError",
    "TargetResult",
    "Tolerance",
    "build_artifact",
    "compare",
    "describe_onnx",
    "load_signing_key",
    "overall",
    "parse_targets",
    "render_table",
    "sha256_digest",
    "signature_mismatches",
]
