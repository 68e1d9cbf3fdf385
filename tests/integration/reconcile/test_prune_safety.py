"""Prune and inventory safety against a real zone API server (shared zone zone-c).

The inventory lists every object before it is created, in every stage (only the zone's namespace, which holds
the inventory, comes first); a prune deletes only the object the plan checked: one deleted and recreated under
the same name in between (by another writer) is refused by the server's UID precondition and survives.

The interleavings are made by a ZoneClient subclass that acts as the other party at the exact moment (just
before an apply or a delete); every request goes to the real server."""

from __future__ import annotations

import json
from typing import Any

import pytest

from reconciler.app.reconcile import apply_zone, render_desired
from reconciler.core.plan import ZoneStatus
from reconciler.core.render import INVENTORY, ObjectRef
from reconciler.shells.kube import Conflict, ZoneClient
from tests.fixtures.fleet_repo import ModelDef, ReconcileEnv, ZoneDef

pytestmark = pytest.mark.integration


def _zone(env: ReconcileEnv, *models: str) -> list[ZoneDef]:
    return [ZoneDef(f"c-{env.suffix}", "zone-c", tuple(ModelDef(m) for m in models))]


def _rendered(env: ReconcileEnv, *models: str) -> Any:
    load = env.write(_zone(env, *models))
    (rendered,) = render_desired(load, env.region, env.options().render)
    return rendered


def _listed(client: ZoneClient, namespace: str) -> set[tuple[str, str, str]]:
    found = client.get("v1", "ConfigMap", namespace, INVENTORY)
    if found is None:
        return set()
    refs = (ObjectRef.from_json(item) for item in json.loads(found["data"]["objects.json"]))
    return {(r.kind, r.namespace, r.name) for r in refs}


class RecordingOrder(ZoneClient):
    """Before each create or update, notes whether the inventory on the server already lists the object."""

    unlisted: list[str]
    home = ""

    def apply(self, obj: dict[str, Any], *, dry_run: bool = False, force: bool = False) -> dict[str, Any]:
        meta = obj["metadata"]
        if not dry_run and meta["name"] != INVENTORY:
            key = (obj["kind"], meta.get("namespace", ""), meta["name"])
            if key not in _listed(self, self.home):
                self.unlisted.append("/".join(key))
        return super().apply(obj, dry_run=dry_run, force=force)


def test_every_object_is_listed_before_it_is_created(reconcile_env: ReconcileEnv) -> None:
    rendered = _rendered(reconcile_env, "sensor-anomaly")
    client = RecordingOrder.connect("zone-c", "zone-c", reconcile_env.kubeconfig)
    assert isinstance(client, RecordingOrder)
    client.unlisted, client.home = [], rendered.namespace
    result = apply_zone(client, rendered, reconcile_env.options().apply)
    assert result.status is ZoneStatus.SYNCED, result.line()
    # only the namespace that holds the inventory is created before it can be recorded
    assert client.unlisted == [f"Namespace//{rendered.namespace}"]

    client.unlisted = []
    grown = _rendered(reconcile_env, "sensor-anomaly", "fraud-scoring")
    assert apply_zone(client, grown, reconcile_env.options().apply).status is ZoneStatus.SYNCED
    assert client.unlisted == []  # every stage: configs and workloads of the new model too


class RecreatingBeforeDelete(ZoneClient):
    """Another writer deletes and recreates the Service just before the reconciler's delete of it."""

    recreated = ""

    def delete(self, api_version: str, kind: str, namespace: str, name: str, *, uid: str | None = None) -> bool:
        if kind == "Service":
            old = self.get(api_version, kind, namespace, name)
            assert old is not None
            super().delete(api_version, kind, namespace, name)
            fresh = {
                "apiVersion": "v1",
                "kind": "Service",
                # even labelled as ours, it is another object than the one the plan checked
                "metadata": {"name": name, "namespace": namespace, "labels": old["metadata"]["labels"]},
                "spec": {"ports": [{"port": 9}], "clusterIP": "None"},
            }
            self.recreated = self.create(fresh)["metadata"]["uid"]
        return super().delete(api_version, kind, namespace, name, uid=uid)


def test_a_prune_deletes_only_the_object_it_checked(reconcile_env: ReconcileEnv) -> None:
    both = _rendered(reconcile_env, "sensor-anomaly", "fraud-scoring")
    client = ZoneClient.connect("zone-c", "zone-c", reconcile_env.kubeconfig)
    assert apply_zone(client, both, reconcile_env.options().apply).status is ZoneStatus.SYNCED

    service = "fraud-scoring-metrics"
    racing = RecreatingBeforeDelete.connect("zone-c", "zone-c", reconcile_env.kubeconfig)
    assert isinstance(racing, RecreatingBeforeDelete)
    result = apply_zone(racing, _rendered(reconcile_env, "sensor-anomaly"), reconcile_env.options().apply)
    survivor = client.get("v1", "Service", both.namespace, service)
    assert survivor is not None
    assert survivor["metadata"]["uid"] == racing.recreated
    assert result.pruned == 3  # the ConfigMap, Deployment and PDB it checked
    assert f"could not prune: Service/{both.namespace}/{service}" in result.message
    assert ("Service", both.namespace, service) in _listed(client, both.namespace)  # still tracked


def test_a_stale_uid_is_refused_by_the_server(reconcile_env: ReconcileEnv) -> None:
    client = ZoneClient.connect("zone-c", "zone-c", reconcile_env.kubeconfig)
    rendered = _rendered(reconcile_env)
    assert apply_zone(client, rendered, reconcile_env.options().apply).status is ZoneStatus.SYNCED
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": rendered.namespace}}
    first = client.create(body)["metadata"]["uid"]
    client.delete("v1", "ConfigMap", rendered.namespace, "x")
    client.create(body)
    with pytest.raises(Conflict):
        client.delete("v1", "ConfigMap", rendered.namespace, "x", uid=first)
    assert client.get("v1", "ConfigMap", rendered.namespace, "x") is not None
