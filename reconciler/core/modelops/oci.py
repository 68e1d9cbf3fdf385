"""The OCI artifact that carries one model version: media types, annotations, config and image manifest, as values.

Layout (an OCI 1.0 image manifest used as an artifact, which distribution 2.8 accepts; it has no artifactType
field or referrers API):

    manifest  application/vnd.oci.image.manifest.v1+json, annotations org.opencontainers.image.* + io.edgeops.*
    ├─ config application/vnd.edgeops.model.config.v1+json   the build manifest (digest, opset, IO signature)
    └─ layer  application/vnd.onnx.model                       the ONNX bytes; its digest is the build digest

Because the layer digest equals the build digest, an edge node can fetch the model blob by the digest recorded in
`model.yaml` alone, and verify it, without trusting tags.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, ConfigDict

from reconciler.core.modelops.manifest import ArtifactManifest, sha256_digest

MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_MEDIA_TYPE = "application/vnd.edgeops.model.config.v1+json"
ONNX_LAYER_MEDIA_TYPE = "application/vnd.onnx.model"

ANNOTATION_TITLE = "org.opencontainers.image.title"
ANNOTATION_VERSION = "org.opencontainers.image.version"
ANNOTATION_REVISION = "org.opencontainers.image.revision"
ANNOTATION_SOURCE = "org.opencontainers.image.source"
ANNOTATION_CREATED = "org.opencontainers.image.created"
ANNOTATION_DESCRIPTION = "org.opencontainers.image.description"
ANNOTATION_MODEL = "io.edgeops.model.name"
ANNOTATION_MODEL_VERSION = "io.edgeops.model.version"
ANNOTATION_OPSET = "io.edgeops.model.opset"
ANNOTATION_FORMAT = "io.edgeops.model.format"


class Descriptor(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    media_type: str
    digest: str
    size: int
    annotations: tuple[tuple[str, str], ...] = ()

    def to_oci(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        return out


class ModelArtifact(BaseModel):
    """Everything pushed for one version: blobs with their bytes, and the manifest that ties them together."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    repository: str
    tag: str
    config: Descriptor
    config_bytes: bytes
    layer: Descriptor
    annotations: tuple[tuple[str, str], ...]

    def manifest(self) -> dict[str, Any]:
        return {
            "schemaVersion": 2,
            "mediaType": MANIFEST_MEDIA_TYPE,
            "config": self.config.to_oci(),
            "layers": [self.layer.to_oci()],
            "annotations": dict(self.annotations),
        }

    def manifest_bytes(self) -> bytes:
        # Compact, key-sorted JSON: the same inputs always give the same manifest digest.
        return json.dumps(self.manifest(), sort_keys=True, separators=(",", ":")).encode()

    def manifest_digest(self) -> str:
        return sha256_digest(self.manifest_bytes())


_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")
_REPOSITORY = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*")


class ArtifactNameError(ValueError):
    """A version or model name that cannot be an OCI tag or repository."""


def tag_for_version(version: str) -> str:
    """OCI tag for a semantic version: '+' (build metadata) is not allowed in tags, so it becomes '_' (Helm's
    convention); anything else invalid is refused with the rule it breaks."""
    tag = version.replace("+", "_")
    if not _TAG.fullmatch(tag):
        raise ArtifactNameError(
            f"version {version!r} cannot be an OCI tag (letters, digits, '_', '.', '-'; at most 128; "
            "not starting with '.' or '-')"
        )
    return tag


def check_repository(repository: str) -> str:
    if not _REPOSITORY.fullmatch(repository):
        raise ArtifactNameError(
            f"repository {repository!r} is not a valid OCI name (lowercase path components of [a-z0-9._-])"
        )
    return repository


def repository_for(model: str, prefix: str = "edgeops/models") -> str:
    """OCI repository name for a model; distribution allows lowercase path components of [a-z0-9._-]."""
    return check_repository(f"{prefix.strip('/')}/{model}".lower())


def model_annotations(
    *,
    model: str,
    version: str,
    manifest: ArtifactManifest,
    revision: str | None = None,
    source: str | None = None,
    created: str | None = None,
) -> tuple[tuple[str, str], ...]:
    """Manifest annotations. `created` is only set when given (e.g. from SOURCE_DATE_EPOCH): a wall-clock time
    would make every push of the same bytes a different manifest digest."""
    pairs = {
        ANNOTATION_TITLE: f"{model}.onnx",
        ANNOTATION_VERSION: version,
        ANNOTATION_DESCRIPTION: f"edgeops model {model} {version} (ONNX opset {manifest.opset})",
        ANNOTATION_MODEL: model,
        ANNOTATION_MODEL_VERSION: version,
        ANNOTATION_OPSET: str(manifest.opset),
        ANNOTATION_FORMAT: manifest.format,
    }
    if revision:
        pairs[ANNOTATION_REVISION] = revision
    if source:
        pairs[ANNOTATION_SOURCE] = source
    if created:
        pairs[ANNOTATION_CREATED] = created
    return tuple(sorted(pairs.items()))


def build_artifact(
    *,
    model: str,
    version: str,
    manifest: ArtifactManifest,
    repository: str | None = None,
    revision: str | None = None,
    source: str | None = None,
    created: str | None = None,
) -> ModelArtifact:
    """The artifact for `manifest` (the build manifest of the ONNX bytes that become the single layer)."""
    config_doc = {"model": model, "version": version, "artifact": manifest.model_dump(mode="json")}
    config_bytes = json.dumps(config_doc, sort_keys=True, separators=(",", ":")).encode()
    return ModelArtifact(
        repository=check_repository(repository) if repository else repository_for(model),
        tag=tag_for_version(version),
        config=Descriptor(media_type=CONFIG_MEDIA_TYPE, digest=sha256_digest(config_bytes), size=len(config_bytes)),
        config_bytes=config_bytes,
        layer=Descriptor(
            media_type=ONNX_LAYER_MEDIA_TYPE,
            digest=manifest.digest,
            size=manifest.size,
            annotations=((ANNOTATION_TITLE, f"{model}.onnx"),),
        ),
        annotations=model_annotations(
            model=model, version=version, manifest=manifest, revision=revision, source=source, created=created
        ),
    )
