"""The HTTP face of `FakeGitHub`: routes requests (GitHubEnterprise's `/api/v3` prefix), authenticates the token,
and sends replies built and validated from GitHub's OpenAPI description."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from reconciler.sandbox.forge.openapi import OpenApi, SchemaViolation
from reconciler.sandbox.forge.routes import ROUTES
from reconciler.sandbox.forge.state import FakeGitHub, HttpError


class Handler(BaseHTTPRequestHandler):
    server: GitHubHttpServer

    def _dispatch(self, method: str) -> None:
        fake = self.server.fake
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else {}
        auth = self.headers.get("Authorization", "")
        login = fake.tokens.get(auth.removeprefix("token ").removeprefix("Bearer ").strip())
        fake.requests.append(f"{method} {url.path}")
        try:
            if login is None:
                raise HttpError(401, "Bad credentials")
            for route_method, pattern, template, status, handler in ROUTES:
                match = pattern.fullmatch(url.path.removeprefix("/api/v3"))
                if route_method == method and match:
                    with fake.lock:
                        overlay = handler(fake, login, body, query, *match.groups())
                        if status == 204:
                            self._send(204, None)
                            return
                        reply = self.server.openapi.reply(method, template, status, overlay)
                    self._send(status, reply)
                    return
            raise HttpError(404, f"Not Found: {method} {url.path}")
        except HttpError as error:
            payload: dict[str, Any] = {"message": str(error), "documentation_url": "https://docs.github.com/rest"}
            if error.errors is not None:
                payload["errors"] = error.errors
            try:
                self.server.openapi.validate_error(error.status, payload)
            except SchemaViolation as violation:
                fake.violations.append(str(violation))
            self._send(error.status, payload)
        except SchemaViolation as error:
            fake.violations.append(str(error))
            self._send(500, {"message": str(error)})

    def _send(self, status: int, payload: Any) -> None:
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def log_message(self, format: str, *args: object) -> None:
        pass


class GitHubHttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeGitHub, openapi: OpenApi, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.fake = fake
        self.openapi = openapi
        fake.base_url = f"http://127.0.0.1:{self.server_address[1]}"
