"""Ending a canary loses no record: region passes against a real kube-apiserver (shared zone zone-a) and real
nats-servers (hub + the ams-01 leaf), the zone's JetStream reached through the hub as in production.

Matrix: records routed to the canary and not yet acknowledged, then the canary removed from the desired state →
the pass keeps the canary's workload objects and its consumer, and the zone is Progressing, saying what it drains
(the region loop's next pass comes after `drain_poll_s`, not its interval);
a test client playing the canary runtime acknowledges them (same durable) → the next pass prunes the workload and
deletes the consumer, and the zone is Synced | the same with no progress within the drain timeout (0 s here) →
the pass deletes both at once and the result names the abandoned records | NATS unreachable at the pass that
removes the canary: which consumers hold records is unknown, so no track's objects are pruned (the loop keeps its
interval), and the first pass that reads NATS again drains them as above | a paused zone whose canary the branch
rolls back while its consumer holds records: the rollback keeps the canary's objects until it is drained, too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest

from reconciler.app.desired import load_desired
from reconciler.app.nats import NatsOptions, RetryPolicy
from reconciler.app.reconcile import RegionOptions, RegionPass, apply_region, render_desired, repository_history
from reconciler.app.reconcile.loop import LoopOptions, RegionLoop
from reconciler.app.reconcile.source import Fetched
from reconciler.core.load import LoadResult
from reconciler.core.plan import ZoneResult, ZoneStatus
from reconciler.core.render import MODEL, TRACK, ObjectRef
from reconciler.sandbox import free_port
from reconciler.shells.kube import ZoneClient
from reconciler.shells.nats import NatsEndpoint
from tests.fixtures.fleet_repo import ModelDef, ReconcileEnv, ZoneDef, write_fleet
from tests.fixtures.nats_fleet import NatsFleet
from tests.fixtures.template_repo import commit_all
from tests.integration.nats.helpers import connect, publish_acked

pytestmark = pytest.mark.integration

ZONE = "ams-01"  # named like the NATS leaf, so its JetStream domain answers through the hub
MODEL_NAME = "fraud-scoring"
STREAM = f"input-{ZONE}-{MODEL_NAME}"
CANARY_DURABLE = f"{MODEL_NAME}-canary"
CANARY_ROUTE = f"in.{ZONE}.{MODEL_NAME}.canary.live"
RECORDS = 5


def _load(env: ReconcileEnv, *, canary: bool) -> LoadResult:
    model = ModelDef(MODEL_NAME, replicas=0, canary="1.1.0" if canary else None)
    load: LoadResult = env.write([ZoneDef(ZONE, "zone-a", models=(model,))])
    assert load.spec is not None, load.problems
    return load


@pytest.fixture
async def admin(nats_fleet: NatsFleet) -> AsyncIterator[Any]:
    """A client of the zone's own server, for the records and the consumers."""
    client = await connect(nats_fleet.endpoint(ZONE))
    yield client
    await client.close()


def _canary_objects(env: ReconcileEnv, load: LoadResult) -> list[ObjectRef]:
    (rendered,) = render_desired(load, env.region, env.options().render, zone=ZONE)
    refs = [m.ref for m in rendered if m.obj()["metadata"].get("labels", {}).get(TRACK) == "canary"]
    assert any(r.kind == "Deployment" for r in refs), refs
    assert all(m.obj()["metadata"]["labels"][MODEL] == MODEL_NAME for m in rendered if m.ref in refs)
    return refs


def _options(env: ReconcileEnv, fleet: NatsFleet, drain_timeout_s: float) -> RegionOptions:
    retry = RetryPolicy(attempts=3, first_delay_s=0.2)
    # No settle time: a drained track goes at the first pass that finds it empty (no waiting in a test).
    nats = NatsOptions(fleet.hub_endpoint(), retry=retry, drain_timeout_s=drain_timeout_s, drain_settle_s=0.0)
    options: RegionOptions = dataclasses.replace(env.options(), nats=nats)
    return options


async def _pass(env: ReconcileEnv, fleet: NatsFleet, load: LoadResult, drain_timeout_s: float) -> RegionPass:
    return await apply_region(load, env.region, _options(env, fleet, drain_timeout_s), zone=ZONE)


async def _loop_pass(
    env: ReconcileEnv, fleet: NatsFleet, load: LoadResult, region_options: RegionOptions | None = None
) -> tuple[ZoneResult, RegionLoop]:
    """The pass as the region loop runs it; the loop, to see when it would pass next."""
    options = LoopOptions(
        env.region, interval_s=60.0, region_options=region_options or _options(env, fleet, 300.0), drain_poll_s=2.0
    )
    loop = RegionLoop(lambda: Fetched("working-tree", load, fresh=True), options)
    results = {r.zone: r for r in await loop.run_pass()}
    return results[ZONE], loop


def _zone(done: RegionPass) -> ZoneResult:
    (result,) = done.zones
    return result


def _existing(env: ReconcileEnv, refs: list[ObjectRef]) -> list[ObjectRef]:
    client = ZoneClient.connect(ZONE, context="zone-a", kubeconfig=env.kubeconfig)
    try:
        return [r for r in refs if client.get(r.api_version, r.kind, r.namespace, r.name) is not None]
    finally:
        client.close()


async def _consumers(admin: Any) -> set[str]:
    return {c.name for c in await admin.jsm().consumers_info(STREAM)}


async def _drain_as_the_canary_runtime(admin: Any) -> None:
    """The canary runtime's part: fetch through its durable and acknowledge every record."""
    runtime = await admin.jetstream().pull_subscribe_bind(CANARY_DURABLE, STREAM)
    for message in await runtime.fetch(RECORDS, timeout=10):
        await message.ack_sync()
    assert await _held(admin) == 0


async def _held(admin: Any) -> int:
    info = await admin.jsm().consumer_info(STREAM, CANARY_DURABLE)
    return int(info.num_pending or 0) + int(info.num_ack_pending or 0)


async def _canary_with_records(
    env: ReconcileEnv, fleet: NatsFleet, admin: Any, with_canary: LoadResult | None = None
) -> list[ObjectRef]:
    """A pass that deploys the canary, then records routed to it that nobody has acknowledged."""
    with_canary = with_canary or _load(env, canary=True)
    first = _zone(await _pass(env, fleet, with_canary, 300.0))
    assert first.status is ZoneStatus.SYNCED, first.message
    refs = _canary_objects(env, with_canary)
    assert _existing(env, refs) == refs
    await publish_acked(admin.jetstream(), CANARY_ROUTE, [f"r{i}" for i in range(RECORDS)])
    assert await _held(admin) == RECORDS
    return refs


@pytest.mark.timeout(300)
async def test_a_removed_canary_drains_its_records_before_it_is_pruned(
    reconcile_env: ReconcileEnv, nats_fleet: NatsFleet, admin: Any
) -> None:
    refs = await _canary_with_records(reconcile_env, nats_fleet, admin)
    stable_only = _load(reconcile_env, canary=False)

    result, loop = await _loop_pass(reconcile_env, nats_fleet, stable_only)
    assert result.status is ZoneStatus.PROGRESSING, result.message
    assert f"draining canary {MODEL_NAME}: {RECORDS} records" in result.message
    assert "kept while their track drains: " in result.message
    assert f"Deployment/{reconcile_env.namespace}/{MODEL_NAME}-canary" in result.message
    assert loop.next_wait_s == 2.0  # soon, not the 60 s interval
    assert _existing(reconcile_env, refs) == refs  # the runtime keeps its Deployment, ConfigMap, ...
    assert CANARY_DURABLE in await _consumers(admin)
    assert await _held(admin) == RECORDS

    await _drain_as_the_canary_runtime(admin)

    result, loop = await _loop_pass(reconcile_env, nats_fleet, stable_only)
    assert result.status is ZoneStatus.SYNCED, result.message
    assert loop.next_wait_s == 60.0
    assert await _consumers(admin) == {f"{MODEL_NAME}-stable"}
    # The objects kept a pass ago stayed in the inventory, so this pass pruned them.
    assert _existing(reconcile_env, refs) == []


@pytest.mark.timeout(300)
async def test_records_without_progress_are_abandoned_after_the_drain_timeout(
    reconcile_env: ReconcileEnv, nats_fleet: NatsFleet, admin: Any
) -> None:
    refs = await _canary_with_records(reconcile_env, nats_fleet, admin)
    # No runtime ever takes them; with a drain timeout of 0 s, no progress is already too long.
    done = await _pass(reconcile_env, nats_fleet, _load(reconcile_env, canary=False), 0.0)
    result = _zone(done)
    assert f"abandoned {RECORDS} records of canary {MODEL_NAME}" in result.message, result.message
    assert "drain timeout" in result.message
    assert not done.draining
    assert await _consumers(admin) == {f"{MODEL_NAME}-stable"}
    assert _existing(reconcile_env, refs) == []


@pytest.mark.timeout(300)
async def test_nats_unreachable_before_the_apply_keeps_every_track(
    reconcile_env: ReconcileEnv, nats_fleet: NatsFleet, admin: Any
) -> None:
    refs = await _canary_with_records(reconcile_env, nats_fleet, admin)
    stable_only = _load(reconcile_env, canary=False)
    away = _options(reconcile_env, nats_fleet, 300.0)
    assert away.nats is not None
    away = dataclasses.replace(
        away,
        nats=dataclasses.replace(away.nats, hub=NatsEndpoint(f"nats://127.0.0.1:{free_port()}", timeout_s=1.0)),
    )

    result, loop = await _loop_pass(reconcile_env, nats_fleet, stable_only, away)
    assert result.status is not ZoneStatus.SYNCED, result.message
    assert "kept while their track drains: " in result.message
    assert _existing(reconcile_env, refs) == refs  # nothing of the canary pruned blind
    assert loop.next_wait_s == 60.0  # NATS is away: coming back sooner would not tell more
    assert await _held(admin) == RECORDS

    result, _ = await _loop_pass(reconcile_env, nats_fleet, stable_only)  # NATS back: the drain as usual
    assert result.status is ZoneStatus.PROGRESSING, result.message
    assert f"draining canary {MODEL_NAME}: {RECORDS} records" in result.message
    await _drain_as_the_canary_runtime(admin)
    result, _ = await _loop_pass(reconcile_env, nats_fleet, stable_only)
    assert result.status is ZoneStatus.SYNCED, result.message
    assert _existing(reconcile_env, refs) == []


@pytest.mark.timeout(300)
async def test_a_paused_zone_drains_a_rolled_back_canary_before_it_is_pruned(
    reconcile_env: ReconcileEnv, nats_fleet: NatsFleet, admin: Any
) -> None:
    env = reconcile_env

    def commit(*, canary: bool, paused: bool) -> LoadResult:
        model = ModelDef(MODEL_NAME, replicas=0, canary="1.1.0" if canary else None)
        write_fleet(env.root, env.region, [ZoneDef(ZONE, "zone-a", models=(model,), paused=paused)])
        load: LoadResult = load_desired(env.root, commit_all(env.root, f"canary {canary}, paused {paused}"))
        assert load.spec is not None, load.problems
        return load

    async def paused_pass(load: LoadResult) -> ZoneResult:
        done = await apply_region(load, env.region, _options(env, nats_fleet, 300.0), zone=ZONE, history=history)
        return _zone(done)

    history = repository_history(env.root)
    refs = await _canary_with_records(env, nats_fleet, admin, commit(canary=True, paused=False))
    rolled_back = commit(canary=False, paused=True)

    result = await paused_pass(rolled_back)
    assert "paused at " in result.message, result.message
    assert "kept while their track drains: " in result.message
    assert f"draining canary {MODEL_NAME}: {RECORDS} records" in result.message
    assert _existing(env, refs) == refs
    assert CANARY_DURABLE in await _consumers(admin)

    await _drain_as_the_canary_runtime(admin)
    result = await paused_pass(rolled_back)
    assert _existing(env, refs) == [], result.message  # drained: the rollback is carried out
    assert await _consumers(admin) == {f"{MODEL_NAME}-stable"}
