"""Server processes of our own on loopback, and the free ports they listen on.

A `ServerProcess` is started with `start_new_session=True` so that stopping it signals the whole process group
(a server that forks leaves nothing behind). Its output goes to a log file that is appended across restarts, each
run after a start marker. Every live process is also tracked module-wide and killed at interpreter exit, so an
interrupted run leaves no orphans even when a fixture's teardown never ran.

`record_processes(directory)` makes every later start write a JSON record (pid = process group, start time from
/proc, name, argv, log) into `directory`, removed again by `stop`: a supervisor killed with SIGKILL leaves its
servers running (each has a session of its own), and `kill_recorded_processes(directory)` finds and stops them.

A port found free by `free_port()` can be taken by another process before our server binds it; callers retry the
start with a new port when `log_says_port_in_use(...)`.

Errors:

    ServerProcessError   the program could not be started, exited while awaited, or was not ready in time
                         (the message carries the log tail)
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType

_START_MARKER = "---- start"
_live: set[ServerProcess] = set()
_live_lock = threading.Lock()
_record_dir: Path | None = None


class ServerProcessError(Exception):
    """The process could not be started, or did not become ready."""


class ServerProcess:
    """A named server process; `start` may be called again after `stop` (same argv, log appended).

    `env` is laid over this process's environment; `noise` lists substrings of log lines that tails leave out
    (the full log keeps them).
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        noise: Sequence[str] = (),
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self._env = dict(env) if env is not None else None
        self._cwd = cwd
        self._noise = tuple(noise)
        self._popen: subprocess.Popen[bytes] | None = None
        self._record: Path | None = None

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen is not None else None

    @property
    def running(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    @property
    def exit_code(self) -> int | None:
        return self.poll()

    def poll(self) -> int | None:
        """The exit code once the process has exited (None while it runs or before it started), as `Popen.poll`."""
        return self._popen.poll() if self._popen is not None else None

    def start(self) -> ServerProcess:
        """Start the process unless it is running; does not wait for it to serve (see `wait_ready`)."""
        if self.running:
            return self
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log.write(f"{_START_MARKER} {time.strftime('%H:%M:%S')}: {' '.join(self.argv)}\n".encode())
            log.flush()
            env = {**os.environ, **self._env} if self._env is not None else None
            try:
                self._popen = subprocess.Popen(
                    self.argv,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                    env=env,
                    cwd=self._cwd,
                )
            except OSError as exc:
                raise ServerProcessError(f"{self.name}: cannot start {self.argv[0]}: {exc}") from exc
        with _live_lock:
            _live.add(self)
        self._record = _write_record(self)
        return self

    def wait_ready(
        self, ready: Callable[[], bool], timeout_s: float, *, every_s: float = 0.1, what: str = "ready"
    ) -> None:
        """Poll `ready()` (an OSError counts as not yet) until true; raise if the process exits or time runs out.

        The process is left as it is on failure: stopping it is the caller's choice.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            if not self.running:
                raise ServerProcessError(self.describe_failure(f"exited while waiting for {what}"))
            with contextlib.suppress(OSError):
                if ready():
                    return
            if time.monotonic() > deadline:
                raise ServerProcessError(self.describe_failure(f"not {what} after {timeout_s:.0f} s"))
            time.sleep(every_s)

    def stop(
        self, sig: signal.Signals = signal.SIGTERM, timeout_s: float = 10.0, kill_timeout_s: float = 30.0
    ) -> int | None:
        """Send `sig` to the process group, SIGKILL it after `timeout_s`; idempotent. The exit code (None when the
        process was never started)."""
        popen = self._popen
        if popen is None:
            return None
        if popen.poll() is None:
            _signal_group(popen.pid, sig)
            try:
                popen.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                _signal_group(popen.pid, signal.SIGKILL)
                popen.wait(timeout=kill_timeout_s)
        # The leader may be gone while a child of it lives on in the group.
        _signal_group(popen.pid, signal.SIGKILL)
        with _live_lock:
            _live.discard(self)
        if self._record is not None:
            self._record.unlink(missing_ok=True)
            self._record = None
        return popen.returncode

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

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


def record_processes(directory: Path | None) -> None:
    """Record every process started from now on in `directory` (None: stop recording)."""
    global _record_dir  # noqa: PLW0603 - one recorder per process, set by the supervisor that owns it
    _record_dir = directory


def start_ticks(pid: int) -> int | None:
    """When `pid` started (clock ticks since boot); None when no such process is alive (a zombie counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: the fields after it follow the last ')'.
    fields = stat.rpartition(")")[2].split()
    if fields[0] == "Z":
        return None
    return int(fields[19])


def record_alive(record: Mapping[str, object]) -> bool:
    """Whether a recorded process still runs (the same one: its start time matches, so a reused pid is not it)."""
    pid, ticks = record.get("pid"), record.get("start_ticks")
    if not isinstance(pid, int):
        return False
    now = start_ticks(pid)
    return now is not None and (ticks is None or now == ticks)


def write_process_record(directory: Path, name: str, pid: int, **extra: object) -> Path:
    """Record process `pid` (a group leader) under `directory`; the record's path."""
    directory.mkdir(parents=True, exist_ok=True)
    slug = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:80]
    path = directory / f"{slug}.{pid}.json"
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps({"pid": pid, "start_ticks": start_ticks(pid), "name": name, **extra}))
    os.replace(partial, path)
    return path


def read_process_records(directory: Path) -> list[dict[str, object]]:
    records = []
    for path in sorted(directory.glob("*.json")):
        with contextlib.suppress(OSError, ValueError):
            record = json.loads(path.read_text())
            if isinstance(record, dict):
                records.append({**record, "path": str(path)})
    return records


def kill_recorded_processes(directory: Path, grace_s: float = 5.0) -> list[dict[str, object]]:
    """Stop every process recorded under `directory` that still runs (SIGTERM to its group, SIGKILL after
    `grace_s`) and remove the records; the records of those that were running."""
    records = read_process_records(directory)
    running = [r for r in records if record_alive(r)]
    for record in running:
        _signal_group(int(str(record["pid"])), signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while any(record_alive(r) for r in running) and time.monotonic() < deadline:
        time.sleep(0.05)
    for record in running:
        # The group may hold children of a leader that is gone: signal it whatever the leader's state.
        _signal_group(int(str(record["pid"])), signal.SIGKILL)
    deadline = time.monotonic() + grace_s  # a killed process still holds its ports until it is gone
    while any(record_alive(r) for r in running) and time.monotonic() < deadline:
        time.sleep(0.05)
    for record in records:
        Path(str(record["path"])).unlink(missing_ok=True)
    return running


def _write_record(process: ServerProcess) -> Path | None:
    directory = _record_dir
    if directory is None or process.pid is None:
        return None
    return write_process_record(directory, process.name, process.pid, argv=process.argv, log=str(process.log_path))


def http_ok(url: str, timeout_s: float = 1.0) -> bool:
    """Whether `url` (one of our own loopback servers) answers 200; a refused connection or an HTTP error is no."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as reply:  # noqa: S310 - our own loopback URL
            return bool(reply.status == 200)
    except OSError:  # URLError and HTTPError included
        return False


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_accepts(port: int, timeout_s: float = 0.5) -> bool:
    """Whether something listens on 127.0.0.1:`port`."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout_s):
            return True
    except OSError:
        return False


def log_says_port_in_use(log_tail: str) -> bool:
    return "address already in use" in log_tail.lower()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    # The group may already be empty: that is the state we want.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _kill_all_at_exit() -> None:
    with _live_lock:
        leftovers = list(_live)
    for process in leftovers:
        process.stop(timeout_s=2.0)


atexit.register(_kill_all_at_exit)
