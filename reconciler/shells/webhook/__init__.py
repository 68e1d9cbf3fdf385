"""POSTing JSON to an HTTP endpoint (notification webhooks), with our error type."""

from __future__ import annotations

import json
from typing import Any

import requests


class WebhookError(Exception):
    """The endpoint did not answer, or answered other than 2xx."""


def post_json(url: str, body: Any, *, timeout_s: float = 5.0) -> None:
    try:
        response = requests.post(
            url,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            timeout=timeout_s,
        )
    except requests.RequestException as error:
        raise WebhookError(f"POST {_redacted(url)}: {type(error).__name__}") from error
    if not 200 <= response.status_code < 300:
        raise WebhookError(f"POST {_redacted(url)}: HTTP {response.status_code}")


def _redacted(url: str) -> str:
    """The scheme and host only: a webhook URL's path often is its credential."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}/…"


__all__ = ["WebhookError", "post_json"]
