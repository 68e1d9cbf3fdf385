"""Staged server-side apply against the real zone API servers (shared zones zone-a, zone-b, zone-c).

Matrix: empty zones -> Synced; a second pass writes nothing (every resourceVersion unchanged, inventory
included); drift by another field manager (scale, edited env, edited ConfigMap) -> healed; a model removed from
the YAML -> exactly its objects pruned; a foreign object with one of our names -> left alone, reported, never
pruned; invalid desired state -> nothing applied in any zone; a Deployment that can never become available
(no nodes: its pods stay Pending) -> Degraded after the health timeout.

Health in these clusters: there is no kubelet, so a Deployment with replicas > 0 never becomes available. Tests
that expect Synced use `replicas: 0` models, which the deployment controller reports healthy once it has
observed them; nothing fakes availability.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from reconciler.app.reconcile import DesiredStateInvalid, run_once
from reconciler.core.plan import Action, ZoneStatus
from reconciler.core.render import INVENTORY
from reconciler.shells.kube import ZoneClient
from tests.fixtures.fleet_repo import ModelDef, ReconcileEnv, ZoneDef
from tests.fixtures.kube import RENDERED_KINDS

pytestmark = pytest.mark.integration


def _zones(env: ReconcileEnv, models: tuple[ModelDef, ...] = (ModelDef(),)) -> list[ZoneDef]:
    return [
        ZoneDef(f"a-{env.suffix}", "zone-a", models, node_pool=f"pool-{env.suffix}"),
        ZoneDef(f"b-{env.suffix}", "zone-b", models),
        ZoneDef(f"c-{env.suffix}", "zone-c", models),
    ]


def _client(env: ReconcileEnv, context: str) -> ZoneClient:
    return ZoneClient.connect(context, context, env.kubeconfig)


def _versions(client: ZoneClient, namespace: str) -> dict[str, str]:
    """resourceVersion of every object in the namespace (and of the namespace itself)."""
    found: dict[str, str] = {}
    for api_version, kind in RENDERED_KINDS:
        for item in client.list(api_version, kind, namespace):
            found[f"{kind}/{item['metadata']['name']}"] = item["metadata"]["resourceVersion"]
    ns = client.get("v1", "Namespace", "", namespace)
    assert ns is not None
    found["Namespace"] = ns["metadata"]["resourceVersion"]
    return found


def test_empty_zones_reach_synced_and_a_second_pass_writes_nothing(reconcile_env: ReconcileEnv) -> None:
    load = reconcile_env.write(_zones(reconcile_env))
    first = run_once(load, reconcile_env.region, reconcile_env.options())
    assert [r.status for r in first] == [ZoneStatus.SYNCED] * 3, [r.line() for r in first]
    assert all(r.applied == len(r.plan.kubernetes) for r in first)
    assert all(r.plan.kubernetes.counts()[Action.CREATE] == r.applied for r in first)

    clients = {context: _client(reconcile_env, context) for context in ("zone-a", "zone-b", "zone-c")}
    before = {c: _versions(client, reconcile_env.namespace) for c, client in clients.items()}
    assert all(f"ConfigMap/{INVENTORY}" in versions for versions in before.values())

    second = run_once(load, reconcile_env.region, reconcile_env.options())
    assert [r.status for r in second] == [ZoneStatus.SYNCED] * 3, [r.line() for r in second]
    assert [r.applied for r in second] == [0, 0, 0]
    assert all(not r.plan.pending for r in second)
    after = {c: _versions(client, reconcile_env.namespace) for c, client in clients.items()}
    assert after == before

    # The objects carry the ownership labels, the revision and a content hash, and the node pool exists.
    deployment = clients["zone-a"].get("apps/v1", "Deployment", reconcile_env.namespace, "sensor-anomaly")
    assert deployment is not None
    meta = deployment["metadata"]
    assert meta["labels"]["app.kubernetes.io/managed-by"] == "edgeops"
    assert meta["labels"]["edgeops.io/zone"] == f"a-{reconcile_env.suffix}"
    assert meta["annotations"]["edgeops.io/revision"] == "working-tree"
    assert meta["annotations"]["edgeops.io/content-hash"].startswith("sha256:")
    assert clients["zone-a"].get("apps.openyurt.io/v1beta2", "NodePool", "", f"pool-{reconcile_env.suffix}") is not None
    clients["zone-a"].delete("apps.openyurt.io/v1beta2", "NodePool", "", f"pool-{reconcile_env.suffix}")


def _edit_by_hand(env: ReconcileEnv) -> None:
    """Drift as a person makes it: kubectl-style scale and edits, by another field manager."""
    from kubernetes import client, config

    api_client = config.new_client_from_config(config_file=str(env.kubeconfig), context="zone-b")
    apps, core = client.AppsV1Api(api_client), client.CoreV1Api(api_client)
    apps.patch_namespaced_deployment_scale(
        "sensor-anomaly", env.namespace, {"spec": {"replicas": 3}}, field_manager="kubectl-scale"
    )
    deployment = apps.read_namespaced_deployment("sensor-anomaly", env.namespace)
    env_vars = deployment.spec.template.spec.containers[0].env
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "runtime",
                            # every plain value; a secretKeyRef variable cannot take a value by hand
                            "env": [
                                {"name": e.name, "value": "edited-by-hand"} for e in env_vars if e.value is not None
                            ],
                        }
                    ]
                }
            }
        }
    }
    apps.patch_namespaced_deployment("sensor-anomaly", env.namespace, patch, field_manager="kubectl-edit")
    core.patch_namespaced_config_map(
        "sensor-anomaly-runtime", env.namespace, {"data": {"runtime.json": "{}"}}, field_manager="kubectl-edit"
    )


def test_manual_drift_is_healed(reconcile_env: ReconcileEnv) -> None:
    load = reconcile_env.write(_zones(reconcile_env)[1:2])
    assert run_once(load, reconcile_env.region, reconcile_env.options())[0].status is ZoneStatus.SYNCED
    zone_b = _client(reconcile_env, "zone-b")
    desired = zone_b.get("apps/v1", "Deployment", reconcile_env.namespace, "sensor-anomaly")
    assert desired is not None
    _edit_by_hand(reconcile_env)

    healed = run_once(load, reconcile_env.region, reconcile_env.options())[0]
    configured = {c.ref for c in healed.plan.kubernetes.with_action(Action.CONFIGURE)}
    assert configured == {
        f"Deployment/{reconcile_env.namespace}/sensor-anomaly",
        f"ConfigMap/{reconcile_env.namespace}/sensor-anomaly-runtime",
    }
    assert healed.drift == 2
    assert healed.status is ZoneStatus.SYNCED, healed.line()
    live = zone_b.get("apps/v1", "Deployment", reconcile_env.namespace, "sensor-anomaly")
    assert live is not None
    assert live["spec"]["replicas"] == 0
    assert (
        live["spec"]["template"]["spec"]["containers"][0]["env"]
        == desired["spec"]["template"]["spec"]["containers"][0]["env"]
    )
    config_map = zone_b.get("v1", "ConfigMap", reconcile_env.namespace, "sensor-anomaly-runtime")
    assert config_map is not None
    assert json.loads(config_map["data"]["runtime.json"])["zone"] == f"b-{reconcile_env.suffix}"


def _model_objects(client: ZoneClient, namespace: str, model: str) -> set[str]:
    found: set[str] = set()
    for api_version, kind in (
        ("v1", "ConfigMap"),
        ("v1", "Service"),
        ("apps/v1", "Deployment"),
        ("policy/v1", "PodDisruptionBudget"),
    ):
        for item in client.list(api_version, kind, namespace, f"edgeops.io/model={model}"):
            if not item["metadata"].get("deletionTimestamp"):
                found.add(f"{kind}/{item['metadata']['name']}")
    return found


def test_removing_a_model_prunes_exactly_its_objects(reconcile_env: ReconcileEnv) -> None:
    both = (ModelDef("sensor-anomaly"), ModelDef("fraud-scoring"))
    load = reconcile_env.write(_zones(reconcile_env, both)[2:])
    assert run_once(load, reconcile_env.region, reconcile_env.options())[0].status is ZoneStatus.SYNCED
    zone_c = _client(reconcile_env, "zone-c")
    kept_before = _versions(zone_c, reconcile_env.namespace)
    assert _model_objects(zone_c, reconcile_env.namespace, "fraud-scoring") == {
        "ConfigMap/fraud-scoring-runtime",
        "Service/fraud-scoring-metrics",
        "Deployment/fraud-scoring",
        "PodDisruptionBudget/fraud-scoring",
    }

    load = reconcile_env.write(_zones(reconcile_env, (ModelDef("sensor-anomaly"),))[2:])
    result = run_once(load, reconcile_env.region, reconcile_env.options())[0]
    pruned = {f"{c.kind}/{c.name}" for c in result.plan.kubernetes.with_action(Action.PRUNE)}
    assert pruned == {
        "ConfigMap/fraud-scoring-runtime",
        "Service/fraud-scoring-metrics",
        "Deployment/fraud-scoring",
        "PodDisruptionBudget/fraud-scoring",
    }
    assert result.pruned == 4
    assert result.status is ZoneStatus.SYNCED, result.line()
    assert _model_objects(zone_c, reconcile_env.namespace, "fraud-scoring") == set()
    kept_after = _versions(zone_c, reconcile_env.namespace)
    # The other model's objects are untouched; only the Role (its ConfigMap names), the NATS chart (the removed
    # model's subject mapping) and the inventory change.
    for key in ("Deployment/sensor-anomaly", "ConfigMap/sensor-anomaly-runtime", "Service/sensor-anomaly-metrics"):
        assert kept_after[key] == kept_before[key]
    assert {c.ref for c in result.plan.kubernetes.with_action(Action.CONFIGURE)} == {
        f"Role/{reconcile_env.namespace}/edgeops-runtime",
        f"HelmChart/{reconcile_env.namespace}/nats",
    }


def test_foreign_object_with_our_name_is_left_alone_and_reported(reconcile_env: ReconcileEnv) -> None:
    load = reconcile_env.write(_zones(reconcile_env)[:1])
    assert run_once(load, reconcile_env.region, reconcile_env.options())[0].status is ZoneStatus.SYNCED
    zone_a = _client(reconcile_env, "zone-a")
    ns = reconcile_env.namespace
    zone_a.delete("v1", "Service", ns, "sensor-anomaly-metrics")
    foreign: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "sensor-anomaly-metrics", "namespace": ns, "labels": {"team": "someone-else"}},
        "spec": {"selector": {"app": "theirs"}, "ports": [{"port": 8080}]},
    }
    created = zone_a.create(foreign)

    for _ in range(2):  # the second pass must still leave it alone (it never enters the inventory)
        result = run_once(load, reconcile_env.region, reconcile_env.options())[0]
        assert result.status is ZoneStatus.OUT_OF_SYNC
        assert result.foreign == (f"Service/{ns}/sensor-anomaly-metrics",)
        assert "not ours" in result.message
        skipped = result.plan.kubernetes.with_action(Action.SKIP_FOREIGN)
        assert [c.name for c in skipped] == ["sensor-anomaly-metrics"]
        live = zone_a.get("v1", "Service", ns, "sensor-anomaly-metrics")
        assert live is not None
        assert live["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
        assert live["spec"]["selector"] == {"app": "theirs"}

    inventory = zone_a.get("v1", "ConfigMap", ns, INVENTORY)
    assert inventory is not None
    assert "sensor-anomaly-metrics" not in inventory["data"]["objects.json"]
    zone_a.delete("apps.openyurt.io/v1beta2", "NodePool", "", f"pool-{reconcile_env.suffix}")


def test_invalid_desired_state_applies_nothing_anywhere(reconcile_env: ReconcileEnv) -> None:
    zones = _zones(reconcile_env, (ModelDef("no-such-model"),))
    load = reconcile_env.write(zones)
    assert load.spec is None
    with pytest.raises(DesiredStateInvalid, match="no-such-model"):
        run_once(load, reconcile_env.region, reconcile_env.options())
    for context in ("zone-a", "zone-b", "zone-c"):
        assert _client(reconcile_env, context).get("v1", "Namespace", "", reconcile_env.namespace) is None


def test_deployment_that_never_becomes_available_is_degraded(reconcile_env: ReconcileEnv) -> None:
    load = reconcile_env.write([ZoneDef(f"b-{reconcile_env.suffix}", "zone-b", (ModelDef(replicas=1),))])
    result = run_once(load, reconcile_env.region, reconcile_env.options(health_timeout_s=8.0))[0]
    assert result.status is ZoneStatus.DEGRADED, result.line()
    assert result.unhealthy
    assert "sensor-anomaly" in result.unhealthy[0]
    assert "0/1 available" in result.message


def test_unreadable_inventory_prunes_nothing_and_is_not_overwritten(reconcile_env: ReconcileEnv) -> None:
    both = (ModelDef("sensor-anomaly"), ModelDef("fraud-scoring"))
    load = reconcile_env.write(_zones(reconcile_env, both)[1:2])
    assert run_once(load, reconcile_env.region, reconcile_env.options())[0].status is ZoneStatus.SYNCED
    zone_b = _client(reconcile_env, "zone-b")
    ns = reconcile_env.namespace
    inventory = zone_b.get("v1", "ConfigMap", ns, INVENTORY)
    assert inventory is not None
    inventory["data"]["objects.json"] = "{not json"
    zone_b.replace(inventory)

    load = reconcile_env.write(_zones(reconcile_env, (ModelDef("sensor-anomaly"),))[1:2])
    result = run_once(load, reconcile_env.region, reconcile_env.options())[0]
    assert result.status is ZoneStatus.OUT_OF_SYNC
    assert "nothing pruned" in result.message
    assert result.pruned == 0
    assert not result.plan.kubernetes.with_action(Action.PRUNE)
    assert zone_b.get("apps/v1", "Deployment", ns, "fraud-scoring") is not None
    after = zone_b.get("v1", "ConfigMap", ns, INVENTORY)
    assert after is not None
    assert after["data"]["objects.json"] == "{not json"


def test_adopt_takes_over_a_foreign_object(reconcile_env: ReconcileEnv) -> None:
    load = reconcile_env.write(_zones(reconcile_env)[2:])
    assert run_once(load, reconcile_env.region, reconcile_env.options())[0].status is ZoneStatus.SYNCED
    zone_c = _client(reconcile_env, "zone-c")
    ns = reconcile_env.namespace
    zone_c.delete("policy/v1", "PodDisruptionBudget", ns, "sensor-anomaly")
    from kubernetes import client, config

    policy = client.PolicyV1Api(
        config.new_client_from_config(config_file=str(reconcile_env.kubeconfig), context="zone-c")
    )
    theirs = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "sensor-anomaly", "namespace": ns},
        "spec": {"maxUnavailable": 2, "selector": {"matchLabels": {"app": "theirs"}}},
    }
    policy.create_namespaced_pod_disruption_budget(ns, theirs, field_manager="kubectl-create")
    assert run_once(load, reconcile_env.region, reconcile_env.options())[0].status is ZoneStatus.OUT_OF_SYNC
    adopted = run_once(load, reconcile_env.region, reconcile_env.options(adopt=True))[0]
    assert [c.name for c in adopted.plan.kubernetes.with_action(Action.CONFIGURE)] == ["sensor-anomaly"]
    assert adopted.status is ZoneStatus.SYNCED, adopted.line()
    live = zone_c.get("policy/v1", "PodDisruptionBudget", ns, "sensor-anomaly")
    assert live is not None
    assert live["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "edgeops"
    assert live["spec"]["maxUnavailable"] == 1
    assert live["spec"]["selector"]["matchLabels"] == {
        "app.kubernetes.io/name": "sensor-anomaly",
        "edgeops.io/track": "stable",
    }
