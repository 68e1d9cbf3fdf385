"""Delivering GitHub webhooks to the bot's service as GitHub does: JSON body, `X-GitHub-Event`,
`X-GitHub-Delivery` and `X-Hub-Signature-256` (HMAC-SHA256 of the body with the shared secret)."""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request


def sign(body: bytes, secret: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def deliver(
    url: str, event: str, payload: object, *, secret: bytes | None, delivery: str | None = None
) -> tuple[int, str]:
    """POST one delivery (signed with `secret`, unsigned when None); returns the status and the reply's text."""
    body = json.dumps(payload).encode()
    headers = {"X-GitHub-Event": event, "Content-Type": "application/json"}
    if secret is not None:
        headers["X-Hub-Signature-256"] = sign(body, secret)
    if delivery is not None:
        headers["X-GitHub-Delivery"] = delivery
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            return reply.status, reply.read().decode().strip()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode().strip()
