"""The runtime's NATS login against a zone nats-server run from the config edgeops renders (users sensor /
runtime / reconciler, passwords from the server's environment). Matrix: the login from the rendered runtime.json
with the password variable set is accepted by the real server (the refusal of a wrong password is nats-server's
own behaviour and not retested here); with that login and the zone's assets applied, the runtime's start-up calls
beyond its consumer are permitted: writing and restoring its changelog, reading its answered result ids."""

from __future__ import annotations

import asyncio
import time

import nats
import pytest

from reconciler.app.nats import NatsStatus, apply_nats
from reconciler.core.nats import naming
from reconciler.core.render.runtimecfg import runtime_config
from runtime.changelog import DeploymentChangelog
from runtime.nats_connection import nats_credentials
from runtime.sources.jetstream import answered_ids
from runtime.store import DeploymentWindows
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


@pytest.mark.timeout(120)
def test_rendered_runtime_user_may_write_and_restore_its_state_and_read_what_it_answered(
    nats_fleet: NatsFleet,
) -> None:
    """With the zone's assets applied, the runtime user of the rendered server config writes its changelog, restores
    it into empty windows, and reads back the ids of its results and dead letters (exactly once after a restart)."""
    zone = nats_fleet.zone("fra-02")
    assignment = zone.spec.models[0]
    config = runtime_config(
        nats_fleet.spec, zone, assignment, nats_fleet.spec.models[assignment.model], track="stable",
        namespace="edgeops",
    )  # fmt: skip
    (deployment,) = config.models
    assert deployment.state is not None
    url, login = _rendered_login(nats_fleet)

    async def exercise() -> None:
        applied = await apply_nats(nats_fleet.spec, zone, nats_fleet.endpoint("fra-02"), revision="rev1")
        assert applied.status is NatsStatus.READY, applied.error
        nc = await nats.connect(url, allow_reconnect=False, connect_timeout=10, **login)
        js = nc.jetstream()
        try:
            windows = DeploymentWindows(deployment.deployment_id, 3, 100)
            changelog = DeploymentChangelog(js, deployment.state, windows)
            for seq, key in enumerate(["a", "b", "a", "c.d", "a"], start=1):
                windows.apply(key, seq, (float(seq),))
            await changelog.flush()
            restored = DeploymentWindows(deployment.deployment_id, 3, 100)
            assert await DeploymentChangelog(js, deployment.state, restored).restore() == 6
            assert {k: (w.seqs, w.rows) for k, w in restored.windows.items()} == {
                k: (w.seqs, w.rows) for k, w in windows.windows.items()
            }

            since = time.time()
            prefix = f"{deployment.deployment_id}:"
            for subject, msg_id in ((deployment.subjects.result, f"{prefix}in-1"),
                                    (deployment.subjects.dead_letter, f"{prefix}dlq:in-2"),
                                    (deployment.subjects.result, "other.canary:in-1")):  # fmt: skip
                await js.publish(subject, b"{}", headers={"Nats-Msg-Id": msg_id})
            subjects = (deployment.subjects.result, deployment.subjects.dead_letter)
            assert await answered_ids(js, subjects, prefix, since) == {f"{prefix}in-1", f"{prefix}dlq:in-2"}
        finally:
            await nc.close()

    asyncio.run(exercise())
