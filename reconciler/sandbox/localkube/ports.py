"""Free loopback ports. A port found free can be taken by another process before our server binds it; callers
retry the start with a new port when the server's log says the address was in use."""

from __future__ import annotations

import socket


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
