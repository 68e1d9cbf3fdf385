"""Opening a nats-py client so that a failed connect leaves nothing open.

`nats.connect` builds its client inside and, when the connect fails (a refused login, a timeout), raises without
closing the socket it had opened; each retry would leak one. Here the client is ours, and closed on any failure.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from nats.aio.client import Client


async def open_client(options: dict[str, Any], timeout_s: float | None = None) -> Client:
    """A connected client, or the connect's exception with the half-open client closed; `timeout_s` bounds the
    whole connect (nats-py keeps retrying a refused first connection on its own)."""
    client = Client()
    try:
        if timeout_s is None:
            await client.connect(**options)
        else:
            await asyncio.wait_for(client.connect(**options), timeout=timeout_s)
    except BaseException:
        with contextlib.suppress(Exception):
            await client.close()
        raise
    return client
