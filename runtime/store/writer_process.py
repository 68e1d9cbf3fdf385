"""The writer process: the DuckDB side of checkpoints in a child process, once the windows are restored.

DuckDB keeps the GIL while it binds and plans a statement (and while it scans a registered Arrow table), about
3 ms per checkpoint, which a writer thread would take from the event loop every interval. The child has its own
interpreter; what stays in the service is pickling the snapshot (in the store's thread) and waiting on a pipe,
which releases the GIL.

Frames on the child's stdin and stdout: an 8-byte big-endian length, then a pickle. Requests are snapshots;
each gets one reply, None once committed or the error's text. The child exits when its stdin closes (the
service closed the store, or died), so it never outlives the runtime by more than the write in progress; it
ignores SIGINT/SIGTERM, which reach the whole process group, because the service's drain still needs it.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import struct
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

from runtime.store.duckdb_store import Snapshot, connect, write_snapshot

_FRAME = struct.Struct(">Q")


def _send(stream: IO[bytes], value: object) -> None:
    blob = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_FRAME.pack(len(blob)) + blob)
    stream.flush()


def _receive(stream: IO[bytes]) -> Any:
    header = stream.read(_FRAME.size)
    if len(header) < _FRAME.size:
        raise EOFError("feature store writer: pipe closed")
    (length,) = _FRAME.unpack(header)
    blob = stream.read(length)
    if len(blob) < length:
        raise EOFError("feature store writer: pipe closed mid-frame")
    return pickle.loads(blob)  # noqa: S301 - frames come from the process this module started


class WriterProcess:
    """The DuckDB side of checkpoints in a child process (`python -c ...serve_writes`); restarted by the next
    `write()` if it died. Used from one thread at a time (the store's executor)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._process: subprocess.Popen[bytes] | None = None

    def _start(self) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [sys.executable, "-c", "from runtime.store.writer_process import serve_writes; serve_writes()", str(self.path)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )  # fmt: skip
        assert process.stdout is not None
        try:
            ready = _receive(process.stdout)  # the file is open (or why not)
        except (OSError, EOFError) as exc:
            ready = f"exited with {process.wait()} ({exc})"
        if ready is not None:
            self._stop(process)
            raise RuntimeError(f"feature store writer did not start: {ready}")
        self._process = process
        return process

    def write(self, snapshot: Snapshot) -> None:
        process = self._process
        if process is not None and process.poll() is not None:
            self._stop(process)  # died (killed, or crashed): its pipes go, a new one starts
            process = None
        if process is None:
            process = self._start()
        assert process.stdin is not None
        assert process.stdout is not None
        try:
            _send(process.stdin, snapshot)
            error = _receive(process.stdout)
        except (OSError, EOFError):
            self._stop(process)
            raise
        if error is not None:
            raise RuntimeError(f"feature store checkpoint failed in the writer: {error}")

    def close(self) -> None:
        if self._process is not None:
            self._stop(self._process)

    def _stop(self, process: subprocess.Popen[bytes]) -> None:
        self._process = None
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def serve_writes() -> None:
    """The writer process: apply snapshots from stdin to the DuckDB file named in argv[1] until stdin closes."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    requests, replies = sys.stdin.buffer, sys.stdout.buffer
    try:
        db = connect(Path(sys.argv[1]))
    except Exception as exc:
        _send(replies, f"{type(exc).__name__}: {exc}")
        return
    _send(replies, None)
    try:
        while True:
            try:
                snapshot = _receive(requests)
            except EOFError:
                return
            try:
                write_snapshot(db, snapshot)
            except Exception as exc:  # reported to the service, which keeps the acks back and retries
                _send(replies, f"{type(exc).__name__}: {exc}")
            else:
                _send(replies, None)
    finally:
        db.close()
