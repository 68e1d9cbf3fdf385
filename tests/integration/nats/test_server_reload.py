"""Reloading a directly run zone server's config (real nats-server).

Matrix: every apply that rewrites the config returns only once the server has applied it, so a client connecting
right after (the JetStream step of the same apply, the runtime, a sensor) is never refused while users and
accounts are being swapped | a config the server refuses to reload (a listen port change needs a restart) is
reported as Degraded with the reason, the file is put back to what the server runs, the server keeps serving, and
the next pass tries and reports it again | a refused login (what a client meets during a reload the reconciler
does not control, the NATS chart's reloader on K3s) is retried within the pass like an unreachable server, and a
wrong password ends Degraded saying the login was refused.
"""

from __future__ import annotations

import dataclasses
import time

import pytest

from reconciler.app.nats import DirectServer, NatsStatus, RetryPolicy, apply_nats
from reconciler.core.nats import naming
from reconciler.core.plan import Action
from reconciler.core.spec import Zone
from reconciler.sandbox import free_port
from tests.fixtures.nats_fleet import NatsFleet
from tests.integration.nats.helpers import connect

pytestmark = pytest.mark.integration

ZONE = "ams-01"


def with_phase(zone: Zone, phase: str, weight: int) -> Zone:
    assignment = zone.spec.models[0]
    assert assignment.canary is not None
    canary = assignment.canary.model_copy(update={"phase": phase, "weight": weight})
    models = (assignment.model_copy(update={"canary": canary}),)
    return zone.model_copy(update={"spec": zone.spec.model_copy(update={"models": models})})


async def test_clients_connect_right_after_each_reload(nats_fleet: NatsFleet) -> None:
    zone, leaf = nats_fleet.zone(ZONE), nats_fleet.leaves[ZONE]
    shapes = [with_phase(zone, "shadow", 0), with_phase(zone, "live", 10)]
    for i in range(12):  # each flip changes the account's mappings and permissions: a users + accounts reload
        loaded_at = leaf.monitor("varz")["config_load_time"]
        result = await apply_nats(
            nats_fleet.spec, shapes[i % 2], nats_fleet.endpoint(ZONE), revision=f"r{i}", server=nats_fleet.direct(ZONE)
        )
        assert result.status is NatsStatus.READY, (i, result.error)
        assert [c.kind for c in result.changes.with_action(Action.CONFIGURE, Action.CREATE)][:1] == ["ServerConfig"]
        assert leaf.monitor("varz")["config_load_time"] != loaded_at, i
        for user in (naming.SENSOR_USER, naming.RECONCILER_USER):
            nc = await connect(nats_fleet.endpoint(ZONE, user), allow_reconnect=False)
            await nc.close()


async def test_a_refused_reload_is_reported_and_the_server_keeps_serving(nats_fleet: NatsFleet) -> None:
    zone, leaf = nats_fleet.zone(ZONE), nats_fleet.leaves[ZONE]
    first = await apply_nats(
        nats_fleet.spec, zone, nats_fleet.endpoint(ZONE), revision="r1", server=nats_fleet.direct(ZONE)
    )
    assert first.status is NatsStatus.READY, first.error
    in_force = leaf.config_path.read_text()
    moved = DirectServer(leaf.config_path, leaf.pid, dataclasses.replace(leaf.settings, port=free_port()))

    for revision in ("r2", "r3"):  # the next pass meets the same refusal and says so again
        result = await apply_nats(nats_fleet.spec, zone, nats_fleet.endpoint(ZONE), revision=revision, server=moved)
        assert result.status is NatsStatus.DEGRADED
        assert result.error is not None
        assert "did not apply the new config" in result.error, result.error
        assert str(leaf.pid) in result.error
        assert leaf.config_path.read_text() == in_force  # the file still says what the server runs

    nc = await connect(nats_fleet.endpoint(ZONE))  # still served from the old config
    try:
        assert (await nc.jetstream().account_info()).streams >= 1
    finally:
        await nc.close()


async def test_a_refused_login_is_retried_then_reported(nats_fleet: NatsFleet) -> None:
    wrong = dataclasses.replace(nats_fleet.endpoint(ZONE), password="not-the-password")
    retry = RetryPolicy(attempts=3, first_delay_s=0.3, max_delay_s=1.0)
    started = time.monotonic()

    result = await apply_nats(nats_fleet.spec, nats_fleet.zone(ZONE), wrong, revision="r1", retry=retry)

    assert result.status is NatsStatus.DEGRADED
    assert result.error is not None
    assert result.error.startswith("NATS refused the login: "), result.error
    assert "Authorization Violation" in result.error
    assert time.monotonic() - started >= 0.3 + 0.6  # retried with backoff, as a reload would need
