"""The agent's on-disk record of the processes it started, so they can be found and stopped after the agent itself
was killed (SIGKILL leaves its processes running: each has a session of its own).

One JSON file per container under `<state>/processes/`: pid (= process group), the process's start time in clock
ticks since boot (from /proc, so a pid reused by another program is never signalled), pod and container. Written
when a process starts, removed when the agent has seen it exit.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from reconciler.sandbox.process import start_ticks

_DIR = "processes"


@dataclass(frozen=True)
class ProcessRecord:
    pid: int
    start_ticks: int | None
    pod: str  # namespace/name
    uid: str
    container: str


def _path(state_dir: Path, uid: str, container: str) -> Path:
    return state_dir / _DIR / f"{uid}.{container}.json"


def write_record(state_dir: Path, record: ProcessRecord) -> None:
    path = _path(state_dir, record.uid, record.container)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(asdict(record)))
    os.replace(partial, path)


def remove_record(state_dir: Path, uid: str, container: str) -> None:
    _path(state_dir, uid, container).unlink(missing_ok=True)


def read_records(state_dir: Path) -> list[ProcessRecord]:
    records = []
    for path in sorted((state_dir / _DIR).glob("*.json")):
        with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
            records.append(ProcessRecord(**json.loads(path.read_text())))
    return records


def alive(record: ProcessRecord) -> bool:
    """Whether the recorded process still runs (the same process: its start time matches)."""
    ticks = start_ticks(record.pid)
    return ticks is not None and (record.start_ticks is None or ticks == record.start_ticks)


def kill_recorded(state_dir: Path, grace_s: float = 5.0) -> list[ProcessRecord]:
    """Stop every recorded process that still runs (SIGTERM to its group, SIGKILL after `grace_s`) and remove
    the records. The records of the processes that were running."""
    records = read_records(state_dir)
    running = [r for r in records if alive(r)]
    for record in running:
        _signal_group(record.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while any(alive(r) for r in running) and time.monotonic() < deadline:
        time.sleep(0.05)
    for record in running:
        # The group may hold children of a leader that is gone: signal it whatever the leader's state.
        _signal_group(record.pid, signal.SIGKILL)
    for record in records:
        remove_record(state_dir, record.uid, record.container)
    return running


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
