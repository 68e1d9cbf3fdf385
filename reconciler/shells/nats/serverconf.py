"""Config files of nats-servers run directly (tests, the sandbox): write atomically, signal a reload, and wait
until the server has applied it.

On K3s the same config reaches the server through the NATS Helm chart instead (see `reconciler.core.nats.helm`).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import urllib.request
from pathlib import Path

from reconciler.shells.nats.errors import NatsServerConfigError


def read_config(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise NatsServerConfigError(f"{path}: cannot read: {exc.strerror}") from exc


def write_config(path: Path, text: str) -> None:
    """Replace the file in one rename, so a reload never reads half a config."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    except OSError as exc:
        raise NatsServerConfigError(f"{path}: cannot write: {exc.strerror}") from exc


def signal_reload(pid: int) -> None:
    """What `nats-server --signal reload=<pid>` sends: SIGHUP, which makes the server re-read its config."""
    try:
        os.kill(pid, signal.SIGHUP)
    except OSError as exc:
        raise NatsServerConfigError(f"cannot signal nats-server pid {pid} to reload: {exc.strerror}") from exc


RELOAD_TIMEOUT_S = 10.0


def _load_time(monitor_url: str) -> str:
    """The server's `config_load_time` (`/varz`): set when a config has been applied, at start or reload."""
    with urllib.request.urlopen(f"{monitor_url}/varz", timeout=2) as reply:  # noqa: S310 - our own server's monitor
        return str(json.loads(reply.read()).get("config_load_time", ""))


async def reload_and_wait(pid: int, monitor_url: str, *, timeout_s: float = RELOAD_TIMEOUT_S) -> None:
    """Signal a reload and return once the server reports it applied (its `config_load_time` moved on).

    A client connecting while a reload swaps users and accounts can be refused ('Authorization Violation'), so
    nothing may connect before this returns. A config the server rejects leaves the load time where it was: that
    is an error here, naming the server's log, instead of a reload that silently never happened."""
    try:
        before = await asyncio.to_thread(_load_time, monitor_url)
    except (OSError, ValueError) as exc:
        raise NatsServerConfigError(
            f"nats-server monitor {monitor_url}: cannot read /varz before the reload: {exc}"
        ) from exc
    signal_reload(pid)
    deadline = time.monotonic() + timeout_s
    while True:
        await asyncio.sleep(0.02)
        try:
            if await asyncio.to_thread(_load_time, monitor_url) != before:
                return
        except (OSError, ValueError):  # busy reloading: ask again
            pass
        if time.monotonic() >= deadline:
            raise NatsServerConfigError(
                f"nats-server pid {pid} did not apply the new config within {timeout_s:g}s "
                "(its log says why it refused it, if it did)"
            )
