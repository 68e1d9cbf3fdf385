"""A minimal HTTPS JSON client for bootstrapping a zone (readiness, RBAC, CRDs) as the admin user.

The environment must not depend on the client library whose behaviour the tests examine, so bootstrap speaks
plain HTTP through the standard library.
"""

from __future__ import annotations

import http.client
import json
import ssl
from dataclasses import dataclass
from typing import Any

from reconciler.sandbox.localkube.errors import ApiRequestError
from reconciler.sandbox.localkube.pki import ZonePki


@dataclass(frozen=True)
class ApiReply:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class AdminApi:
    """Requests to one apiserver at 127.0.0.1:`port`, authenticated with the zone's admin certificate."""

    def __init__(self, port: int, pki: ZonePki, timeout_s: float = 10.0) -> None:
        self.port = port
        self._timeout_s = timeout_s
        self._tls = ssl.create_default_context(cafile=str(pki.ca_cert))
        self._tls.load_cert_chain(str(pki.admin_cert), str(pki.admin_key))

    def request(self, method: str, path: str, body: object | None = None) -> ApiReply:
        """One request; connection errors raise `OSError`, HTTP errors are returned as the reply's status."""
        connection = http.client.HTTPSConnection("127.0.0.1", self.port, context=self._tls, timeout=self._timeout_s)
        try:
            payload = json.dumps(body).encode() if body is not None else None
            headers = {"Accept": "application/json"}
            if payload is not None:
                headers["Content-Type"] = "application/json"
            connection.request(method, path, body=payload, headers=headers)
            response = connection.getresponse()
            return ApiReply(response.status, response.read())
        finally:
            connection.close()

    def create(self, collection_path: str, obj: dict[str, Any]) -> None:
        """POST `obj`; an object that already exists (a restarted zone with kept storage) is fine."""
        reply = self.request("POST", collection_path, obj)
        if reply.status in (200, 201, 202, 409):
            return
        name = obj.get("metadata", {}).get("name", "?")
        raise ApiRequestError(
            f"creating {obj.get('kind', '?')} {name!r} at {collection_path} failed: "
            f"HTTP {reply.status}: {reply.body[:500].decode(errors='replace')}",
            status=reply.status,
        )
