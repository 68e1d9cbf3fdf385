"""A server process of our own on loopback: started in its own process group with its log in a file, ready when
an HTTP URL answers 200, stopped with the whole group (SIGTERM, then SIGKILL).

Errors:

    LocalProcessError   the program is missing, exited early, or was not ready in time (message carries the log tail)
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType


class LocalProcessError(Exception):
    """The process could not be started or did not become ready."""


class LocalProcess:
    def __init__(
        self, name: str, argv: Sequence[str], log_path: Path, ready_url: str, env: Mapping[str, str] | None = None
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.ready_url = ready_url
        self.env = dict(env) if env is not None else None
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 60.0) -> LocalProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with self.log_path.open("ab") as log:
                self._process = subprocess.Popen(
                    self.argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=self.env
                )
        except OSError as exc:
            raise LocalProcessError(f"{self.name}: cannot start {self.argv[0]}: {exc}") from exc
        self._wait_ready(timeout_s)
        return self

    def _wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise LocalProcessError(
                    f"{self.name} exited with code {self._process.returncode}; log tail:\n{self.log_tail()}"
                )
            with (
                contextlib.suppress(urllib.error.URLError, OSError),
                urllib.request.urlopen(self.ready_url, timeout=1) as reply,  # noqa: S310 - our own loopback URL
            ):
                if reply.status == 200:
                    return
            time.sleep(0.1)
        self.stop()
        raise LocalProcessError(f"{self.name} not ready after {timeout_s:.0f}s; log tail:\n{self.log_tail()}")

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout_s: float = 20.0) -> int | None:
        """Stop the process group; returns the exit code (None when it was not running)."""
        process, self._process = self._process, None
        if process is None:
            return None
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
            try:
                process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        return process.returncode

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def __enter__(self) -> LocalProcess:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
