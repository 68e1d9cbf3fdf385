"""The region loop as an identity holding exactly the reconciler's rendered RBAC (`reconciler_rbac`), against the
real API server of the shared zone zone-c: a ServiceAccount with a token from the TokenRequest API, bound by an
administrator once. With it a pass creates the zone (NodePool, RBAC for the runtime, workloads: no `bind` or
`escalate` needed), a second pass writes nothing, a removed model is pruned, and the Lease is held. Anything
beyond it — a Secret (read or write), a Deployment in another namespace, a ClusterRole, another namespace's
NodePool-free objects — is refused with 403."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s

from reconciler.app.reconcile import read_inventory, run_once
from reconciler.app.reconcile.leader import LeaderElector
from reconciler.core.plan import ZoneStatus
from reconciler.core.render import parse_subject, reconciler_rbac
from reconciler.sandbox.localkube import LocalKube
from reconciler.shells.kube import Forbidden, ZoneClient
from tests.fixtures.fleet_repo import ModelDef, ReconcileEnv, ZoneDef
from tests.fixtures.kube import admin_client

pytestmark = pytest.mark.integration

ZONE = "zone-c"


@dataclasses.dataclass
class Identity:
    kubeconfig: Path
    lease: str


@pytest.fixture
def reconciler_identity(kube_zones: LocalKube, reconcile_env: ReconcileEnv, tmp_path: Path) -> Iterator[Identity]:
    name = f"edgeops-reconciler-{reconcile_env.suffix}"
    lease = f"edgeops-lease-{uuid.uuid4().hex[:8]}"
    api = admin_client(kube_zones, ZONE)
    core = k8s.CoreV1Api(api)
    core.create_namespaced_service_account("default", k8s.V1ServiceAccount(metadata=k8s.V1ObjectMeta(name=name)))
    admin = ZoneClient.connect(ZONE, ZONE, kube_zones.kubeconfig)
    rbac = reconciler_rbac(
        f"c-{reconcile_env.suffix}",
        reconcile_env.namespace,
        parse_subject(f"serviceaccount:default:{name}"),
        lease=("kube-system", lease),
    )
    for obj in rbac:  # what an administrator applies once per zone
        admin.apply(obj, force=True)
    issued = core.create_namespaced_service_account_token(
        name, "default", k8s.AuthenticationV1TokenRequest(spec=k8s.V1TokenRequestSpec(audiences=[]))
    )
    assert issued.status is not None
    token = issued.status.token
    zone = kube_zones.zone(ZONE)
    kubeconfig = tmp_path / "reconciler.kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {"name": ZONE, "cluster": {"server": zone.server, "certificate-authority": str(zone.pki.ca_cert)}}
                ],
                "users": [{"name": name, "user": {"token": token}}],
                "contexts": [{"name": ZONE, "context": {"cluster": ZONE, "user": name}}],
                "current-context": ZONE,
            }
        )
    )
    yield Identity(kubeconfig, lease)
    for obj in reversed(rbac[1:]):
        meta = obj["metadata"]
        admin.delete(obj["apiVersion"], obj["kind"], meta.get("namespace", ""), meta["name"])
    admin.delete("coordination.k8s.io/v1", "Lease", "kube-system", lease)
    core.delete_namespaced_service_account(name, "default")


def _zones(env: ReconcileEnv, *models: str) -> list[ZoneDef]:
    return [ZoneDef(f"c-{env.suffix}", ZONE, tuple(ModelDef(m) for m in models), node_pool=f"pool-{env.suffix}")]


def test_a_full_pass_with_exactly_the_rendered_rbac(reconcile_env: ReconcileEnv, reconciler_identity: Identity) -> None:
    options = dataclasses.replace(reconcile_env.options(), kubeconfig=reconciler_identity.kubeconfig)
    load = reconcile_env.write(_zones(reconcile_env, "sensor-anomaly", "fraud-scoring"))
    (created,) = run_once(load, reconcile_env.region, options)
    assert created.status is ZoneStatus.SYNCED, created.line()
    assert created.applied > 0

    (again,) = run_once(load, reconcile_env.region, options)
    assert again.status is ZoneStatus.SYNCED, again.line()
    assert again.applied == 0  # nothing written on the second pass

    load = reconcile_env.write(_zones(reconcile_env, "sensor-anomaly"))
    (pruned,) = run_once(load, reconcile_env.region, options)
    assert pruned.status is ZoneStatus.SYNCED, pruned.line()
    assert pruned.pruned == 4
    me = ZoneClient.connect(ZONE, ZONE, reconciler_identity.kubeconfig)
    assert all(r.name != "fraud-scoring" for r in read_inventory(me, reconcile_env.namespace).refs)

    elector = LeaderElector(me, "kube-system", reconciler_identity.lease, "replica-1")
    assert elector.try_acquire_or_renew()
    assert elector.try_acquire_or_renew()  # renewal: an update by name


def _secret(namespace: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "stolen", "namespace": namespace}}


def _deployment(namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "elsewhere", "namespace": namespace},
        "spec": {
            "selector": {"matchLabels": {"app": "x"}},
            "template": {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "x", "image": "x"}]}},
        },
    }


def test_a_write_outside_it_is_refused(reconcile_env: ReconcileEnv, reconciler_identity: Identity) -> None:
    me = ZoneClient.connect(ZONE, ZONE, reconciler_identity.kubeconfig)
    cluster_role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "mine"}}
    for obj in (_secret(reconcile_env.namespace), _deployment("default"), cluster_role, _secret("default")):
        with pytest.raises(Forbidden):
            me.apply(obj, force=True)
    with pytest.raises(Forbidden):
        me.get("v1", "Secret", reconcile_env.namespace, "anything")
    with pytest.raises(Forbidden):
        me.get("v1", "Namespace", "", "default")  # only its own namespace, by name
