"""Download one blob over the OCI distribution API into a file while hashing it (blocking; run in a thread).

Plain urllib rather than a registry client library: the puller needs a bounded timeout per attempt and no
built-in retry loop (retrying is the scheduler's job, on its interval), and a blob GET is one request plus, for
registries that want it, the anonymous or basic-credential bearer-token exchange.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from http.client import HTTPMessage, HTTPResponse
from pathlib import Path
from typing import IO

from runtime.artifacts.errors import AccessDenied, ArtifactNotFound, RegistryUnavailable, VerificationFailed
from runtime.artifacts.reference import BlobLocation, ManifestLocation

USERNAME_ENV = "EDGEOPS_REGISTRY_USERNAME"
PASSWORD_ENV = "EDGEOPS_REGISTRY_PASSWORD"  # noqa: S105 - the variable's name
_CHUNK = 1 << 20  # large reads: the per-chunk Python overhead, not the hash, bounds throughput
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urllib.parse.urlsplit(url)
    return (
        parts.scheme.lower(),
        (parts.hostname or "").lower(),
        parts.port or {"http": 80, "https": 443}.get(parts.scheme),
    )


class _CredentialsStayHome(urllib.request.HTTPRedirectHandler):
    """Follow redirects, but never carry the registry's credentials to another origin: registries redirect blob
    downloads to object storage, and urllib would otherwise send the Authorization header along."""

    def redirect_request(  # noqa: PLR0917 - urllib's signature
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        redirected = super().redirect_request(req, fp, code, msg, headers, newurl)
        if redirected is not None and _origin(newurl) != _origin(req.full_url):
            redirected.remove_header("Authorization")
        return redirected


_OPENER = urllib.request.build_opener(_CredentialsStayHome())


def _basic_header() -> str | None:
    username, password = os.environ.get(USERNAME_ENV), os.environ.get(PASSWORD_ENV)
    if not (username and password):
        return None
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def _bearer_token(challenge: str, timeout_s: float) -> str | None:
    """Docker token flow: GET realm?service=..&scope=.. (with basic credentials when configured)."""
    if not challenge.lower().startswith("bearer "):
        return None
    params = dict(_CHALLENGE.findall(challenge))
    realm = params.pop("realm", None)
    if not realm:
        return None
    url = f"{realm}?{urllib.parse.urlencode(params)}"
    if not url.startswith(("http://", "https://")):
        return None
    request = urllib.request.Request(url)  # noqa: S310 - the registry's own realm, checked to be http(s)
    basic = _basic_header()
    if basic:
        request.add_header("Authorization", basic)
    try:
        with _OPENER.open(request, timeout=timeout_s) as reply:
            body = json.loads(reply.read())
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise AccessDenied(f"token request to {realm} failed: {error}") from error
    token = body.get("token") or body.get("access_token")
    return str(token) if token else None


def _open(location: BlobLocation | ManifestLocation, timeout_s: float, authorization: str | None) -> HTTPResponse:
    request = urllib.request.Request(location.url)  # noqa: S310 - scheme fixed to http(s) by parse_reference
    if isinstance(location, ManifestLocation):
        request.add_header("Accept", location.accept)
    if authorization:
        request.add_header("Authorization", authorization)
    reply: HTTPResponse = _OPENER.open(request, timeout=timeout_s)
    return reply


def _connect(location: BlobLocation | ManifestLocation, timeout_s: float) -> HTTPResponse:
    authorization = _basic_header()
    for attempt in range(2):
        try:
            return _open(location, timeout_s, authorization)
        except urllib.error.HTTPError as error:
            if error.code == 401 and attempt == 0:
                token = _bearer_token(error.headers.get("WWW-Authenticate", ""), timeout_s)
                if token:
                    authorization = f"Bearer {token}"
                    continue
            if error.code in (401, 403):
                raise AccessDenied(f"{location.url}: {error.code} {error.reason}") from error
            if error.code == 404:
                raise ArtifactNotFound(f"{location.url}: not found (404)") from error
            raise RegistryUnavailable(f"{location.url}: {error.code} {error.reason}") from error
        except (urllib.error.URLError, OSError) as error:
            raise RegistryUnavailable(f"{location.url}: {getattr(error, 'reason', error)}") from error
    raise AccessDenied(f"{location.url}: still unauthorised after the token exchange")


def download_verified(location: BlobLocation, destination: Path, *, timeout_s: float, max_bytes: int) -> int:
    """Stream the blob into `destination` (created, fsynced) and check its sha256; returns the size.

    On any failure the partial file is removed, so a caller never finds unverified bytes.
    """
    expected = location.digest.removeprefix("sha256:")
    hasher = hashlib.sha256()
    size = 0
    try:
        with _connect(location, timeout_s) as reply, destination.open("wb") as out:
            while chunk := reply.read(_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise VerificationFailed(f"{location.url}: larger than the {max_bytes}-byte limit")
                hasher.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
    except (TimeoutError, ConnectionError) as error:
        destination.unlink(missing_ok=True)
        raise RegistryUnavailable(f"{location.url}: transfer interrupted: {error}") from error
    except BaseException:
        destination.unlink(missing_ok=True)
        raise
    actual = hasher.hexdigest()
    if actual != expected:
        destination.unlink(missing_ok=True)
        raise VerificationFailed(f"{location.url}: content hashes to sha256:{actual}, expected {location.digest}")
    return size


def read_small(location: BlobLocation | ManifestLocation, *, timeout_s: float, max_bytes: int) -> bytes:
    """The whole (small) reply body: a manifest or a signature payload; larger than `max_bytes` is refused."""
    try:
        with _connect(location, timeout_s) as reply:
            data = reply.read(max_bytes + 1)
    except (TimeoutError, ConnectionError) as error:
        raise RegistryUnavailable(f"{location.url}: transfer interrupted: {error}") from error
    if len(data) > max_bytes:
        raise VerificationFailed(f"{location.url}: larger than the {max_bytes}-byte limit for this kind of object")
    return data
