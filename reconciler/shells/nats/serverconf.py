"""Config files of nats-servers run directly (tests, the sandbox): write atomically, then signal a reload.

On K3s the same config reaches the server through the NATS Helm chart instead (see `reconciler.core.nats.helm`).
"""

from __future__ import annotations

import os
import signal
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
