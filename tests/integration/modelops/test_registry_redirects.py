"""Registry credentials never follow a redirect to another host. A registry front on 127.0.0.1 demands basic
credentials and redirects (307) manifests and blobs to "object storage" on 127.0.0.2 (another host name, still
loopback), which records every header it receives: both the edge puller's fetch and the push side's client get
the bytes, and the storage host never sees an Authorization header. Then the same with the real local registry
behind such a front: `edgeops model push` and the edge puller end to end, the blob download redirected."""

from __future__ import annotations

import base64
import hashlib
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from reconciler.app.modelops.push import push_model_version
from reconciler.shells.registry import RegistryClient, parse_registry
from runtime.artifacts import BlobLocation, ModelPuller, PullMetrics
from runtime.artifacts.fetch import download_verified, read_small
from tests.fixtures.registry import running_registry

pytestmark = pytest.mark.integration

USER, PASSWORD = "edge-ci", "not-a-real-secret"  # a throwaway credential for this test's servers only
BASIC = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
BLOB = b"model bytes " * 1000
DIGEST = "sha256:" + hashlib.sha256(BLOB).hexdigest()


class Servers:
    def __init__(self) -> None:
        self.storage_headers: list[dict[str, str]] = []
        self.front_authorized = 0
        self.storage_port = 0


def _serve(host: str, handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def redirecting_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Servers]]:
    seen = Servers()

    class Storage(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.storage_headers.append(dict(self.headers.items()))
            self.send_response(200)
            self.send_header("Content-Length", str(len(BLOB)))
            self.end_headers()
            self.wfile.write(BLOB)

        def log_message(self, format: str, *args: object) -> None:
            pass

    class Front(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.headers.get("Authorization") != BASIC:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="registry"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            seen.front_authorized += 1
            self.send_response(307)
            self.send_header("Location", f"http://127.0.0.2:{seen.storage_port}/bucket{self.path}?signed=1")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    storage = _serve("127.0.0.2", Storage)
    seen.storage_port = storage.server_address[1]
    front = _serve("127.0.0.1", Front)
    monkeypatch.setenv("EDGEOPS_REGISTRY_USERNAME", USER)
    monkeypatch.setenv("EDGEOPS_REGISTRY_PASSWORD", PASSWORD)
    yield f"127.0.0.1:{front.server_address[1]}", seen
    for server in (front, storage):
        server.shutdown()
        server.server_close()


def test_the_edge_puller_keeps_credentials_at_the_registry(
    redirecting_registry: tuple[str, Servers], tmp_path: Path
) -> None:
    host, seen = redirecting_registry
    location = BlobLocation("http", host, "edge-models/tiny", DIGEST)
    assert download_verified(location, tmp_path / "blob", timeout_s=5, max_bytes=1 << 20) == len(BLOB)
    assert read_small(location, timeout_s=5, max_bytes=1 << 20) == BLOB
    assert seen.front_authorized == 2
    assert len(seen.storage_headers) == 2
    assert not any("authorization" in (k.lower() for k in headers) for headers in seen.storage_headers)


def test_the_push_side_keeps_credentials_at_the_registry(redirecting_registry: tuple[str, Servers]) -> None:
    host, seen = redirecting_registry
    client = RegistryClient(parse_registry(f"{host}/edge-models"))
    client.ping()  # picks basic auth from the challenge
    assert client.find_manifest("edge-models/tiny", "1.0.0") == BLOB
    assert seen.front_authorized >= 1
    assert seen.storage_headers
    assert not any("authorization" in (k.lower() for k in headers) for headers in seen.storage_headers)


@pytest.fixture
def fronted_registry(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, Servers]]:
    """The real local registry behind a front that demands credentials and sends blob downloads to "object
    storage" on 127.0.0.2 (which fetches them from the registry and records the headers it was sent)."""
    seen = Servers()
    with running_registry(tmp_path_factory.mktemp("fronted-registry")) as registry:
        upstream = f"http://{registry.host}"

        def forward(method: str, path: str, headers: dict[str, str], body: bytes | None) -> tuple[int, Any, bytes]:
            keep = {k: v for k, v in headers.items() if k.lower() not in ("host", "authorization", "content-length")}
            request = urllib.request.Request(upstream + path, data=body, headers=keep, method=method)
            try:
                with urllib.request.urlopen(request, timeout=10) as reply:
                    return reply.status, reply.headers, reply.read()
            except urllib.error.HTTPError as error:
                return error.code, error.headers, error.read()

        class Storage(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                seen.storage_headers.append(dict(self.headers.items()))
                status, _, data = forward("GET", self.path.split("?", 1)[0], {}, None)
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                pass

        class Front(BaseHTTPRequestHandler):
            def _relay(self) -> None:
                if self.headers.get("Authorization") != BASIC:
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="registry"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                seen.front_authorized += 1
                if self.command == "GET" and "/blobs/sha256:" in self.path:
                    self.send_response(307)
                    self.send_header("Location", f"http://127.0.0.2:{seen.storage_port}{self.path}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                status, headers, data = forward(self.command, self.path, dict(self.headers.items()), body)
                self.send_response(status)
                for key, value in headers.items():
                    if key.lower() in ("content-length", "transfer-encoding", "connection", "date", "server"):
                        continue
                    # the registry's upload locations, made relative so they lead back through the front
                    self.send_header(key, value.removeprefix(upstream) if key.lower() == "location" else value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = _relay

            def log_message(self, format: str, *args: object) -> None:
                pass

        storage = _serve("127.0.0.2", Storage)
        seen.storage_port = storage.server_address[1]
        front = _serve("127.0.0.1", Front)
        monkeypatch.setenv("EDGEOPS_REGISTRY_USERNAME", USER)
        monkeypatch.setenv("EDGEOPS_REGISTRY_PASSWORD", PASSWORD)
        yield f"127.0.0.1:{front.server_address[1]}", seen
        for server in (front, storage):
            server.shutdown()
            server.server_close()


async def test_push_and_edge_pull_through_a_redirecting_real_registry(
    fronted_registry: tuple[str, Servers], tiny_model_dir: Path, tmp_path: Path
) -> None:
    host, seen = fronted_registry
    outcome = push_model_version(tiny_model_dir, "1.0.0", registries=[parse_registry(f"{host}/edge-models")])
    puller = ModelPuller(tmp_path / "edge", metrics=PullMetrics(CollectorRegistry()))
    path = await puller.ensure(f"{host}/edge-models/tiny-scorer:1.0.0", outcome.digest, model="tiny")
    assert path.read_bytes() == outcome.build.data
    assert seen.storage_headers  # the blob really came from the other host
    assert not any("authorization" in (k.lower() for k in headers) for headers in seen.storage_headers)
