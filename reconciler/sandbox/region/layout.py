"""Where a running sandbox region keeps its state: everything under one directory (`.sandbox/` by default), so that
`down` can find every process after any kind of exit and then remove the directory whole.

    supervisor.json     the supervisor process (written by `up` when it spawns it)
    processes/          one record per server process the supervisor started (pid, start time, name, argv, log)
    manifest.json       the parts once the region is up: names, URLs, ports, pids (where to look, never health)
    progress.jsonl      the supervisor's steps, one JSON object a line, read by `up` to show progress
    secrets.json        NATS passwords (mode 0600); never in git: `.sandbox/` is ignored
    kube/ nats/ registry/ fleet/ agents/<zone>/ prometheus/ jaeger/ logs/
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_STATE = Path(".sandbox")


@dataclass(frozen=True)
class Layout:
    root: Path

    @property
    def supervisor(self) -> Path:
        return self.root / "supervisor.json"

    @property
    def processes(self) -> Path:
        return self.root / "processes"

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.json"

    @property
    def progress(self) -> Path:
        return self.root / "progress.jsonl"

    @property
    def secrets(self) -> Path:
        return self.root / "secrets.json"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def agent(self, zone: str) -> Path:
        return self.root / "agents" / zone

    @property
    def agents(self) -> Path:
        return self.root / "agents"


def write_json(path: Path, value: Any, *, private: bool = False) -> None:
    """Write atomically (a reader never sees half a file); `private`: readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(value, out, indent=2)
    os.replace(partial, path)


def read_json(path: Path) -> Any:
    """The file's JSON, or None when it is missing or not (yet) whole."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
