"""Where a blob lives: `ref` (`[http://|https://]host[:port]/repository[:tag][@digest]`) plus the artifact digest.

The blob is addressed by the artifact digest alone (`/v2/<repository>/blobs/<digest>`); the tag in the ref is for
people. Loopback hosts are spoken to over plain HTTP, everything else over HTTPS unless the ref says `http://`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from runtime.artifacts.errors import BadReference

_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_REPOSITORY = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")
_LOOPBACK = ("127.0.0.1", "localhost", "[::1]")


@dataclass(frozen=True)
class BlobLocation:
    scheme: str
    host: str
    repository: str
    digest: str

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}/v2/{self.repository}/blobs/{self.digest}"


@dataclass(frozen=True)
class ManifestLocation:
    """A manifest of the blob's repository, by tag or digest (the signed artifact's, or its cosign `.sig`)."""

    blob: BlobLocation
    reference: str
    accept: str = "application/vnd.oci.image.manifest.v1+json"

    @property
    def url(self) -> str:
        return f"{self.blob.scheme}://{self.blob.host}/v2/{self.blob.repository}/manifests/{self.reference}"


def manifest_reference(ref: str) -> str:
    """The manifest `ref` names: its `@digest`, else its tag, else `latest` (as docker and oras read it)."""
    rest, _, digest = ref.strip().partition("@")
    if digest:
        return digest
    last = rest.rsplit("/", 1)[-1]
    return last.rsplit(":", 1)[1] if ":" in last and "/" in rest else "latest"


def parse_reference(ref: str, digest: str) -> BlobLocation:
    if not _DIGEST.match(digest):
        raise BadReference(f"digest {digest!r} is not 'sha256:' and 64 lower-case hex digits")
    rest = ref.strip()
    scheme = ""
    for prefix in ("http://", "https://"):
        if rest.startswith(prefix):
            scheme, rest = prefix[:-3], rest[len(prefix) :]
    rest = rest.split("@", 1)[0]
    host, _, path = rest.partition("/")
    # Docker's rule: the first component is a registry host only if it has a '.' or ':' or is localhost.
    if not path or not ("." in host or ":" in host or host == "localhost"):
        raise BadReference(f"ref {ref!r} names no registry host (expected host[:port]/repository[:tag])")
    repository = path.rsplit(":", 1)[0] if ":" in path.rsplit("/", 1)[-1] else path
    if not _REPOSITORY.match(repository):
        raise BadReference(f"ref {ref!r}: {repository!r} is not a valid repository name")
    if not scheme:
        scheme = "http" if host.rsplit(":", 1)[0] in _LOOPBACK or host in _LOOPBACK else "https"
    return BlobLocation(scheme=scheme, host=host, repository=repository, digest=digest)
