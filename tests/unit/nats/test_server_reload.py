"""Reloading a directly run nats-server, without a server: where its monitor is found, that nothing is signalled
when the load time cannot be read first (a reload could then never be confirmed), and that a refused login (what a
client meets during a reload) is told apart from other errors, whichever way nats-py reports it. The reload
itself runs against real servers in tests/integration/nats/test_server_reload.py."""

from __future__ import annotations

from pathlib import Path

import nats.errors
import pytest

from reconciler.app.nats import DirectServer
from reconciler.core.nats import ServerSettings
from reconciler.shells.nats import NatsError, NatsLoginRefused, NatsServerConfigError, NatsUnreachable, serverconf
from reconciler.shells.nats.errors import wrap_client_error

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


@pytest.mark.parametrize(
    "raised",
    [nats.errors.AuthorizationError(), nats.errors.Error("nats: 'Authorization Violation'")],
    ids=["while connected", "at the handshake"],
)
def test_a_refused_login_is_its_own_error(raised: Exception) -> None:
    error = wrap_client_error(raised, "connect to nats://127.0.0.1:4222")
    assert isinstance(error, NatsLoginRefused)
    assert str(error) == "connect to nats://127.0.0.1:4222: the server refused the login (Authorization Violation)"


@pytest.mark.parametrize(
    ("raised", "kind"),
    [
        (nats.errors.NoServersError(), NatsUnreachable),
        (nats.errors.Error("nats: 'Permissions Violation for Publish to \"x\"'"), NatsError),
    ],
)
def test_other_errors_are_not_a_refused_login(raised: Exception, kind: type[NatsError]) -> None:
    assert type(wrap_client_error(raised, "connect")) is kind
