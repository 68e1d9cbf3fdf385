"""Reloading a directly run nats-server, without a server: where its monitor is found, and that nothing is
signalled when the load time cannot be read first (a reload could then never be confirmed). The reload itself runs
against real servers in tests/integration/nats/test_server_reload.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.app.nats import DirectServer
from reconciler.core.nats import ServerSettings
from reconciler.shells.nats import NatsServerConfigError, serverconf

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("host", "url"),
    [("0.0.0.0", "http://127.0.0.1:8222"), ("", "http://127.0.0.1:8222"), ("10.1.2.3", "http://10.1.2.3:8222")],
)
def test_monitor_url_is_reachable_from_this_host(host: str, url: str) -> None:
    server = DirectServer(Path("nats-server.conf"), 1234, ServerSettings(host=host, monitor_port=8222))
    assert server.monitor_url == url


async def test_no_signal_when_the_monitor_cannot_be_read(monkeypatch: pytest.MonkeyPatch) -> None:
    signalled: list[int] = []

    def refused(url: str) -> str:
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(serverconf, "signal_reload", signalled.append)
    monkeypatch.setattr(serverconf, "_load_time", refused)
    monitor = "http://127.0.0.1:8222"

    with pytest.raises(NatsServerConfigError, match=r"cannot read /varz before the reload") as caught:
        await serverconf.reload_and_wait(4321, monitor, timeout_s=1.0)

    assert monitor in str(caught.value)
    assert signalled == []
