"""Fencing and the Lease's own timer, against real zone API servers (shared zones zone-a, zone-c).

A pass whose fence closes (its leader could not renew the Lease in time) sends no further write: not the next
object of the stage in flight, not a prune. The Lease is renewed on a thread of its own: with every worker of the
shared pool busy with zone work, a renewal still completes at once."""

from __future__ import annotations

import asyncio
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from reconciler.app.reconcile import apply_zone, render_desired
from reconciler.app.reconcile.leader import LeaderElector
from reconciler.app.reconcile.loop import LoopOptions, RegionLoop
from reconciler.app.reconcile.source import Fetched
from reconciler.core.plan import ZoneStatus
from reconciler.shells.kube import ZoneClient
from tests.fixtures.fleet_repo import ModelDef, ReconcileEnv, ZoneDef

pytestmark = pytest.mark.integration


def _rendered(env: ReconcileEnv, *models: str) -> Any:
    load = env.write([ZoneDef(f"c-{env.suffix}", "zone-c", tuple(ModelDef(m) for m in models))])
    (rendered,) = render_desired(load, env.region, env.options().render)
    return rendered


class Fence:
    """Open for the first `writes` checks, closed from then on (the Lease's renew deadline passing mid-pass)."""

    def __init__(self, writes: int) -> None:
        self.left = writes

    def __call__(self) -> bool:
        self.left -= 1
        return self.left < 0


def test_a_closed_fence_stops_the_writes_of_a_pass_in_flight(reconcile_env: ReconcileEnv) -> None:
    client = ZoneClient.connect("zone-c", "zone-c", reconcile_env.kubeconfig)
    rendered = _rendered(reconcile_env, "sensor-anomaly")
    # two writes: the namespace and the inventory; then the fence closes before the first RBAC object
    result = apply_zone(client, rendered, reconcile_env.options().apply, fenced=Fence(2))
    assert result.status is ZoneStatus.OUT_OF_SYNC
    assert "not leading" in result.message
    namespace = rendered.namespace
    assert client.get("v1", "Namespace", "", namespace) is not None
    assert client.list("v1", "ServiceAccount", namespace, "app.kubernetes.io/managed-by=edgeops") == []
    assert client.get("apps/v1", "Deployment", namespace, "sensor-anomaly") is None


def test_a_closed_fence_prunes_nothing(reconcile_env: ReconcileEnv) -> None:
    client = ZoneClient.connect("zone-c", "zone-c", reconcile_env.kubeconfig)
    both = _rendered(reconcile_env, "sensor-anomaly", "fraud-scoring")
    assert apply_zone(client, both, reconcile_env.options().apply).status is ZoneStatus.SYNCED
    one = _rendered(reconcile_env, "sensor-anomaly")
    result = apply_zone(client, one, reconcile_env.options().apply, fenced=lambda: True)
    assert "not leading" in result.message
    assert result.pruned == 0
    assert client.get("apps/v1", "Deployment", both.namespace, "fraud-scoring") is not None


async def test_the_lease_is_renewed_while_every_shared_worker_is_busy(reconcile_env: ReconcileEnv) -> None:
    load = reconcile_env.write([ZoneDef(f"a-{reconcile_env.suffix}", "zone-a")])
    lease = f"edgeops-reconciler-{uuid.uuid4().hex[:8]}"
    client = ZoneClient.connect("lease", "zone-a", reconcile_env.kubeconfig)
    elector = LeaderElector(client, "kube-system", lease, "replica-1", lease_duration_s=10.0, renew_deadline_s=7.0)
    options = LoopOptions(region="eu-west", region_options=reconcile_env.options(), lease_retry_s=0.3)
    region_loop = RegionLoop(lambda: Fetched("x", load, fresh=True), options, elector)
    running = asyncio.get_running_loop()
    shared = ThreadPoolExecutor(2)  # what zone work runs on (asyncio.to_thread); made small to fill it surely
    running.set_default_executor(shared)
    busy = [running.run_in_executor(None, time.sleep, 3.0) for _ in range(4)]  # zone work, filling the pool
    try:
        started = time.monotonic()
        assert await region_loop._lead()
        assert time.monotonic() - started < 2.0, "the renewal waited behind zone work"
    finally:
        await asyncio.gather(*busy)
        client.delete("coordination.k8s.io/v1", "Lease", "kube-system", lease)
