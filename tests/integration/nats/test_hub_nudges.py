"""Who may nudge on a region hub run from the config edgeops renders (`hub_server_config`), with two zone leaves
connected. Real nats-servers (`nats_fleet`).

Matrix: the nudger (credentials) publishes to its region and to all regions, and the region's reconciler user
hears both; the reconciler may not hear another region's nudges nor publish; the nudger may publish nothing else
and subscribe to nothing; a client without credentials (what zone leafnodes and JetStream management are) can
neither publish nor hear a nudge, and still reaches a zone's JetStream through the leafnode.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest

from reconciler.app.gitops import send_nudge
from reconciler.core.nats import Nudge, NudgeSource, decode_nudge, js_api_prefix, naming, nudge_subject
from reconciler.shells.nats import NatsEndpoint
from tests.fixtures.nats_fleet import NatsFleet
from tests.integration.nats.helpers import connect

pytestmark = pytest.mark.integration
REGION = "eu-west"


def _as(fleet: NatsFleet, user: str | None) -> NatsEndpoint:
    if user is None:
        return NatsEndpoint(fleet.hub.url, timeout_s=3.0)
    return NatsEndpoint(fleet.hub.url, user=user, password=os.environ[naming.HUB_PASSWORD_ENV[user]], timeout_s=3.0)


class Client:
    """A nats-py connection that keeps the messages it receives and the errors the server sends it."""

    def __init__(self) -> None:
        self.received: list[Any] = []
        self.errors: list[str] = []
        self.nc: Any = None

    async def open(self, endpoint: NatsEndpoint) -> Client:
        async def on_error(error: Exception) -> None:
            self.errors.append(str(error))

        self.nc = await connect(endpoint, error_cb=on_error)
        return self

    async def hear(self, subject: str) -> None:
        async def keep(message: Any) -> None:
            self.received.append(message)

        await self.nc.subscribe(subject, cb=keep)
        await self.nc.flush()


async def _settle(*clients: Client) -> None:
    for client in clients:
        await client.nc.flush()
    await asyncio.sleep(0.3)  # time for a wrongly delivered message or a late permission error to arrive


async def test_only_the_nudger_nudges_and_only_the_regions_reconciler_hears(nats_fleet: NatsFleet) -> None:
    reconciler = await Client().open(_as(nats_fleet, naming.HUB_RECONCILER_USER))
    anonymous = await Client().open(_as(nats_fleet, None))
    nudger = await Client().open(_as(nats_fleet, naming.HUB_NUDGER_USER))
    try:
        for subject in naming.nudge_subjects(REGION):
            await reconciler.hear(subject)
        await reconciler.hear(nudge_subject("us-east"))
        await anonymous.hear(nudge_subject(REGION))

        sent = Nudge(sha="abc123", why="rollback", source=NudgeSource.CANARY)
        assert await send_nudge(_as(nats_fleet, naming.HUB_NUDGER_USER), sent, REGION) == nudge_subject(REGION)
        await send_nudge(_as(nats_fleet, naming.HUB_NUDGER_USER), sent)
        await anonymous.nc.publish(nudge_subject(REGION), b"from nobody")
        await nudger.nc.publish("out.ams-01.fraud-scoring", b"not a nudge")
        await nudger.hear(nudge_subject(REGION))
        await reconciler.nc.publish(nudge_subject(REGION), b"the reconciler only listens")
        await _settle(reconciler, anonymous, nudger)

        assert sorted(m.subject for m in reconciler.received) == sorted(naming.nudge_subjects(REGION))
        assert all(decode_nudge(m.data) == sent for m in reconciler.received)
        assert anonymous.received == []
        assert nudger.received == []
        assert any("subscription" in e and "us-east" in e for e in reconciler.errors), reconciler.errors
        assert any("publish" in e for e in reconciler.errors), reconciler.errors
        assert any("publish" in e and REGION in e for e in anonymous.errors), anonymous.errors
        assert any("subscription" in e for e in anonymous.errors), anonymous.errors
        assert any("publish" in e and "out.ams-01" in e for e in nudger.errors), nudger.errors
        assert any("subscription" in e for e in nudger.errors), nudger.errors

        zone_js = anonymous.nc.jsm(prefix=js_api_prefix(nats_fleet.zone("ams-01").spec.nats.domain), timeout=5)
        assert (await zone_js.account_info()).domain == nats_fleet.zone("ams-01").spec.nats.domain
    finally:
        for client in (reconciler, anonymous, nudger):
            await client.nc.close()
