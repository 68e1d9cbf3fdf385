"""The runtime's NATS login against a zone nats-server run from the config edgeops renders (users sensor /
runtime / reconciler, passwords from the server's environment). Matrix: the login from the rendered runtime.json
with the password variable set is accepted by the real server (the refusal of a wrong password is nats-server's
own behaviour and not retested here)."""

from __future__ import annotations

import asyncio

import nats
import pytest

from reconciler.core.nats import naming
from reconciler.core.render.runtimecfg import runtime_config
from runtime.nats_connection import nats_credentials
from tests.fixtures.nats_fleet import NatsFleet

pytestmark = pytest.mark.integration


def _rendered_login(fleet: NatsFleet) -> tuple[str, dict[str, str]]:
    zone = fleet.zone("fra-02")
    assignment = zone.spec.models[0]
    config = runtime_config(
        fleet.spec, zone, assignment, fleet.spec.models[assignment.model], track="stable", namespace="edgeops"
    )
    assert config.nats.user == naming.RUNTIME_USER
    return fleet.leaves["fra-02"].url, nats_credentials(config.nats)


@pytest.mark.timeout(120)
def test_rendered_runtime_login_is_accepted(nats_fleet: NatsFleet) -> None:
    url, login = _rendered_login(nats_fleet)
    assert login == {"user": naming.RUNTIME_USER, "password": nats_fleet.passwords[naming.RUNTIME_USER]}

    async def connect() -> bool:
        nc = await nats.connect(url, allow_reconnect=False, connect_timeout=10, **login)
        try:
            await nc.flush(timeout=10)
            return nc.is_connected
        finally:
            await nc.close()

    assert asyncio.run(connect())
