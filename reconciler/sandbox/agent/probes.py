"""Running one probe try against a local process: `httpGet` (2xx/3xx succeeds), `tcpSocket` (a connection) or
`exec` (exit 0), each within the probe's `timeoutSeconds`. Ports are the pod's host ports (see `mapping`)."""

from __future__ import annotations

import http.client
import socket
import subprocess
from collections.abc import Callable, Mapping
from typing import Any

from reconciler.sandbox.agent.envvars import ContainerConfigError


def probe_once(
    probe: Mapping[str, Any],
    *,
    port_of: Callable[[int | str], int],
    exec_argv: Callable[[list[str]], list[str]],
    env: Mapping[str, str],
    timeout_s: float,
) -> bool:
    """One try of `probe`: True on success. `port_of` maps a probe port (number or name) to a host port,
    `exec_argv` maps an exec command's paths. A probe the container cannot satisfy (unknown port) fails."""
    try:
        if "httpGet" in probe:
            get = probe["httpGet"]
            return _http(port_of(get["port"]), str(get.get("path", "/")), get.get("httpHeaders") or [], timeout_s)
        if "tcpSocket" in probe:
            with socket.create_connection(("127.0.0.1", port_of(probe["tcpSocket"]["port"])), timeout=timeout_s):
                return True
        if "exec" in probe:
            argv = exec_argv([str(part) for part in probe["exec"].get("command") or []])
            done = subprocess.run(argv, env=dict(env), capture_output=True, timeout=timeout_s, check=False)
            return done.returncode == 0
    except (OSError, subprocess.TimeoutExpired, ContainerConfigError, http.client.HTTPException):
        return False
    return False


def _http(port: int, path: str, headers: list[Mapping[str, str]], timeout_s: float) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_s)
    try:
        connection.request("GET", path, headers={h["name"]: h["value"] for h in headers})
        return 200 <= connection.getresponse().status < 400
    finally:
        connection.close()
