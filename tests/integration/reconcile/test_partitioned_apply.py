"""A partitioned model (`partitions`) applied to a real zone API server (shared zone-c: kube-apiserver with the
deployment, replicaset and statefulset controllers, no kubelet).

Matrix: a model switched on to partitions has its Deployment replaced by a StatefulSet of the same name (the
Deployment pruned, nothing else of the model's touched but its ConfigMap), which the server accepts as rendered
(parallel pods, the ordinal from the pod name) and the statefulset controller reports healthy at `replicas: 0` ->
Synced, a second pass writes nothing; at `replicas: 2` its pods stay Pending -> Degraded with the StatefulSet's
reason; switched off again, the Deployment comes back and the StatefulSet is pruned.
"""

from __future__ import annotations

import pytest

from reconciler.app.reconcile import run_once
from reconciler.core.plan import Action, ZoneStatus
from reconciler.shells.kube import ZoneClient
from tests.fixtures.fleet_repo import ModelDef, ReconcileEnv, ZoneDef

pytestmark = pytest.mark.integration

MODEL = "sensor-anomaly"


def _zone(env: ReconcileEnv, model: ModelDef) -> list[ZoneDef]:
    return [ZoneDef(f"c-{env.suffix}", "zone-c", (model,))]


def _workloads(client: ZoneClient, namespace: str) -> set[str]:
    return {
        f"{kind}/{item['metadata']['name']}"
        for kind in ("Deployment", "StatefulSet")
        for item in client.list("apps/v1", kind, namespace)
        if not item["metadata"].get("deletionTimestamp")
    }


def test_partitions_turn_the_deployment_into_a_statefulset_and_back(reconcile_env: ReconcileEnv) -> None:
    env, client = reconcile_env, ZoneClient.connect("zone-c", "zone-c", reconcile_env.kubeconfig)
    try:
        first = run_once(env.write(_zone(env, ModelDef(MODEL))), env.region, env.options())[0]
        assert first.status is ZoneStatus.SYNCED, first.line()
        assert _workloads(client, env.namespace) == {f"Deployment/{MODEL}"}

        load = env.write(_zone(env, ModelDef(MODEL, partitions=6)))
        switched = run_once(load, env.region, env.options())[0]
        assert switched.status is ZoneStatus.SYNCED, switched.line()
        changes = {(c.action, f"{c.kind}/{c.name}") for c in switched.plan.kubernetes if c.action.writes}
        assert (Action.CREATE, f"StatefulSet/{MODEL}") in changes
        assert (Action.PRUNE, f"Deployment/{MODEL}") in changes
        assert (Action.CONFIGURE, f"ConfigMap/{MODEL}-runtime") in changes  # runtime.json now has partitions
        assert _workloads(client, env.namespace) == {f"StatefulSet/{MODEL}"}

        live = client.get("apps/v1", "StatefulSet", env.namespace, MODEL)
        assert live is not None
        assert live["spec"]["podManagementPolicy"] == "Parallel"
        assert live["status"]["observedGeneration"] == live["metadata"]["generation"]
        container = live["spec"]["template"]["spec"]["containers"][0]
        ordinal = next(e for e in container["env"] if e["name"] == "EDGEOPS_ORDINAL")
        assert ordinal["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
        config = client.get("v1", "ConfigMap", env.namespace, f"{MODEL}-runtime")
        assert config is not None
        assert '"count": 6' in config["data"]["runtime.json"]

        again = run_once(load, env.region, env.options())[0]
        assert again.status is ZoneStatus.SYNCED, again.line()
        assert again.applied == 0
        assert not again.plan.pending

        scaled = run_once(
            env.write(_zone(env, ModelDef(MODEL, replicas=2, partitions=6))),
            env.region,
            env.options(health_timeout_s=5.0),
        )[0]
        assert scaled.status is ZoneStatus.DEGRADED, scaled.line()
        assert any(u.startswith(f"StatefulSet/{env.namespace}/{MODEL}: 0/2 available") for u in scaled.unhealthy), (
            scaled.unhealthy
        )

        back = run_once(env.write(_zone(env, ModelDef(MODEL))), env.region, env.options())[0]
        assert back.status is ZoneStatus.SYNCED, back.line()
        assert {f"{c.kind}/{c.name}" for c in back.plan.kubernetes.with_action(Action.PRUNE)} == {
            f"StatefulSet/{MODEL}"
        }
        assert _workloads(client, env.namespace) == {f"Deployment/{MODEL}"}
    finally:
        client.close()
