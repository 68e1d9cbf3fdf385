"""Push (and read back) one model artifact to a distribution-compatible registry with oras.

oras's request layer retries a failed connection five times with growing sleeps (about two minutes in all), so
every operation first pings `/v2/` with a short timeout: a registry that is down is reported in seconds.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import oras.container
import oras.provider
import requests

from reconciler.core.modelops import MANIFEST_MEDIA_TYPE, ModelArtifact

_PING_TIMEOUT_S = 10.0
_LOOPBACK = ("127.0.0.1", "localhost", "[::1]")
USERNAME_ENV = "EDGEOPS_REGISTRY_USERNAME"
PASSWORD_ENV = "EDGEOPS_REGISTRY_PASSWORD"  # noqa: S105 - the variable's name, not a password


class RegistryError(Exception):
    """Base of the registry shell's errors."""


class RegistryUnreachable(RegistryError):
    """The registry did not answer."""


class RegistryRejected(RegistryError):
    def __init__(self, what: str, status: int, body: str) -> None:
        super().__init__(f"{what}: registry answered {status}: {body[:500]}")
        self.status = status


class DigestMismatch(RegistryError):
    """The registry stored our bytes under another digest than the one we computed."""


@dataclass(frozen=True)
class RegistryLocation:
    """`host[:port][/path]` from fleet.yaml: where to push, and the repository prefix under it."""

    host: str
    path: str
    plain_http: bool

    def repository(self, model: str) -> str:
        return f"{self.path}/{model}" if self.path else f"edgeops/models/{model}"


def _is_loopback(host: str) -> bool:
    name = host.rsplit("]", 1)[0] + "]" if host.startswith("[") else host.rsplit(":", 1)[0]
    return name in _LOOPBACK


def parse_registry(text: str, *, plain_http: bool | None = None) -> RegistryLocation:
    """Parse `host[:port][/path]` (an `http://`/`https://` scheme is accepted and decides plain HTTP). Loopback
    hosts default to plain HTTP, everything else to HTTPS."""
    raw = text.strip()
    scheme_plain: bool | None = None
    for scheme, plain in (("http://", True), ("https://", False)):
        if raw.startswith(scheme):
            raw, scheme_plain = raw[len(scheme) :], plain
    host, _, path = raw.partition("/")
    if not host or " " in raw:
        raise ValueError(f"registry {text!r} is not host[:port][/path]")
    if plain_http is None:
        plain_http = scheme_plain if scheme_plain is not None else _is_loopback(host)
    return RegistryLocation(host=host, path=path.strip("/").lower(), plain_http=plain_http)


@dataclass(frozen=True)
class PushedArtifact:
    registry: str
    repository: str
    tag: str
    manifest_digest: str
    layer_digest: str

    @property
    def ref(self) -> str:
        return f"{self.registry}/{self.repository}:{self.tag}"

    @property
    def pinned_ref(self) -> str:
        return f"{self.registry}/{self.repository}@{self.manifest_digest}"


class RegistryClient:
    def __init__(self, location: RegistryLocation) -> None:
        self.location = location
        self._oras = self._client("token")

    def _client(self, auth_backend: str) -> oras.provider.Registry:
        client = oras.provider.Registry(
            hostname=self.location.host, insecure=self.location.plain_http, auth_backend=auth_backend
        )
        username, password = os.environ.get(USERNAME_ENV), os.environ.get(PASSWORD_ENV)
        if username and password:
            client.auth.set_basic_auth(username, password)
        return client

    @property
    def base_url(self) -> str:
        return f"{'http' if self.location.plain_http else 'https'}://{self.location.host}"

    def ping(self) -> None:
        """Is the registry answering (fast), and which authentication does it ask for?"""
        try:
            reply = self._oras.session.get(f"{self.base_url}/v2/", timeout=_PING_TIMEOUT_S)
        except requests.RequestException as error:
            raise RegistryUnreachable(f"{self.location.host}: {error}") from error
        if reply.status_code == 401:
            # Registries ask for a bearer token (token service) or for basic credentials (htpasswd); oras
            # handles each with its own backend, so pick the one this registry's challenge calls for.
            challenge = reply.headers.get("WWW-Authenticate", "")
            if challenge.lower().startswith("basic"):
                if not (os.environ.get(USERNAME_ENV) and os.environ.get(PASSWORD_ENV)):
                    raise RegistryRejected(
                        f"{self.base_url}/v2/", 401, f"credentials required: set {USERNAME_ENV} and {PASSWORD_ENV}"
                    )
                self._oras = self._client("basic")
            return
        if reply.status_code != 200:
            raise RegistryRejected(f"{self.base_url}/v2/", reply.status_code, reply.text)

    def _container(self, repository: str, tag: str) -> oras.container.Container:
        return oras.container.Container(f"{self.location.host}/{repository}:{tag}")

    def _request(self, what: str, url: str, method: str, **kwargs: Any) -> requests.Response:
        try:
            reply: requests.Response = self._oras.do_request(url, method, **kwargs)
        except requests.RequestException as error:
            raise RegistryUnreachable(f"{what}: {error}") from error
        except ValueError as error:  # oras raises ValueError for 5xx after its retries and for auth failures
            raise RegistryRejected(what, 500, str(error)) from error
        return reply

    def push(self, artifact: ModelArtifact, layer_bytes: bytes) -> PushedArtifact:
        """Upload config and layer blobs (skipped when present), then the manifest under the version tag."""
        self.ping()
        for descriptor, data in ((artifact.config, artifact.config_bytes), (artifact.layer, layer_bytes)):
            self._upload_blob(artifact.repository, descriptor.to_oci(), data)
        ours = self.put_manifest(artifact.repository, artifact.tag, artifact.manifest_bytes())
        return PushedArtifact(
            registry=self.location.host,
            repository=artifact.repository,
            tag=artifact.tag,
            manifest_digest=ours,
            layer_digest=artifact.layer.digest,
        )

    def _upload_blob(self, repository: str, descriptor: dict[str, Any], data: bytes) -> None:
        # oras skips a blob the repository already has (HEAD first), so re-pushing uploads nothing.
        container = self._container(repository, "upload")
        with tempfile.TemporaryDirectory(prefix="edgeops-push-") as tmp:
            blob = Path(tmp) / "blob"
            blob.write_bytes(data)
            try:
                reply = self._oras.upload_blob(str(blob), container, descriptor)
            except requests.RequestException as error:
                raise RegistryUnreachable(f"upload {descriptor['digest']}: {error}") from error
            except ValueError as error:
                raise RegistryRejected(f"upload {descriptor['digest']}", 500, str(error)) from error
        if reply.status_code not in (200, 201, 202):
            raise RegistryRejected(f"upload {descriptor['digest']}", reply.status_code, reply.text)

    def upload_blob(self, repository: str, data: bytes, media_type: str) -> str:
        """Upload `data` as a blob of `repository`; returns its digest."""
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        self._upload_blob(repository, {"mediaType": media_type, "digest": digest, "size": len(data)}, data)
        return digest

    def put_manifest(self, repository: str, reference: str, data: bytes, media_type: str = MANIFEST_MEDIA_TYPE) -> str:
        """Store `data` as the manifest `repository:reference`; returns its digest (checked against the registry's)."""
        what = f"put manifest {repository}:{reference}"
        url = f"{self.base_url}/v2/{repository}/manifests/{reference}"
        reply = self._request(what, url, "PUT", data=data, headers={"Content-Type": media_type})
        if reply.status_code not in (200, 201):
            raise RegistryRejected(what, reply.status_code, reply.text)
        ours = "sha256:" + hashlib.sha256(data).hexdigest()
        theirs = reply.headers.get("Docker-Content-Digest", ours)
        if theirs != ours:
            raise DigestMismatch(f"manifest stored as {theirs}, we computed {ours}")
        return ours

    def find_manifest(self, repository: str, reference: str, media_type: str = MANIFEST_MEDIA_TYPE) -> bytes | None:
        """The manifest's bytes as stored, or None when the registry has no such manifest (404)."""
        self.ping()
        what = f"get manifest {repository}:{reference}"
        url = f"{self.base_url}/v2/{repository}/manifests/{reference}"
        reply = self._request(what, url, "GET", headers={"Accept": media_type})
        if reply.status_code == 404:
            return None
        if reply.status_code != 200:
            raise RegistryRejected(what, reply.status_code, reply.text)
        return bytes(reply.content)

    def manifest(self, repository: str, reference: str) -> dict[str, Any]:
        self.ping()
        url = f"{self.base_url}/v2/{repository}/manifests/{reference}"
        reply = self._request(
            f"get manifest {repository}:{reference}", url, "GET", headers={"Accept": MANIFEST_MEDIA_TYPE}
        )
        if reply.status_code != 200:
            raise RegistryRejected(f"get manifest {repository}:{reference}", reply.status_code, reply.text)
        document: dict[str, Any] = reply.json()
        return document
