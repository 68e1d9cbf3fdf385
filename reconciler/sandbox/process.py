"""One server process in its own process group, with its output in a log file.

Each process is started with `start_new_session=True` so that stopping it signals the whole group (a component
that forks leaves nothing behind). Every live process is also tracked module-wide and killed at interpreter exit,
so an interrupted test run leaves no orphans even when a fixture's teardown never ran.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

_START_MARKER = "---- start"
_live: set[ManagedProcess] = set()
_live_lock = threading.Lock()


class ManagedProcess:
    """A named server process; `start` may be called again after `stop` (same argv, log appended)."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        env: Mapping[str, str] | None = None,
        noise: Sequence[str] = (),
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self._env = dict(env) if env is not None else None
        # Substrings of log lines left out of tails (the full log keeps them).
        self._noise = tuple(noise)
        self._popen: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen is not None else None

    @property
    def running(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    @property
    def exit_code(self) -> int | None:
        return self._popen.poll() if self._popen is not None else None

    def start(self) -> None:
        if self.running:
            return
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log.write(f"{_START_MARKER} {time.strftime('%H:%M:%S')}: {' '.join(self.argv)}\n".encode())
            log.flush()
            env = {**os.environ, **self._env} if self._env is not None else None
            self._popen = subprocess.Popen(
                self.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env=env,
            )
        with _live_lock:
            _live.add(self)

    def stop(self, grace_s: float = 10.0) -> None:
        """SIGTERM the process group, SIGKILL it after `grace_s`; idempotent."""
        popen = self._popen
        if popen is None:
            return
        if popen.poll() is None:
            _signal_group(popen.pid, signal.SIGTERM)
            try:
                popen.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                _signal_group(popen.pid, signal.SIGKILL)
                popen.wait(timeout=30)
        # The leader may be gone while a child of it lives on in the group.
        _signal_group(popen.pid, signal.SIGKILL)
        with _live_lock:
            _live.discard(self)

    def output_since_start(self) -> str:
        """What the current run has logged so far (the log file is appended across restarts)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return text.rpartition(_START_MARKER)[2]

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return f"({self.log_path} does not exist)"
        kept = [line for line in text.splitlines() if not any(n in line for n in self._noise)]
        return "\n".join(kept[-lines:])

    def describe_failure(self, what: str, lines: int = 40) -> str:
        status = "running" if self.running else f"exited with code {self.exit_code}"
        return f"{self.name}: {what} ({status}); last {lines} lines of {self.log_path}:\n{self.log_tail(lines)}"


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    # The group may already be empty: that is the state we want.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _kill_all_at_exit() -> None:
    with _live_lock:
        leftovers = list(_live)
    for process in leftovers:
        process.stop(grace_s=2.0)


atexit.register(_kill_all_at_exit)
