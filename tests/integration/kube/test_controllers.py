"""Controllers of a zone (shared zone-b): what kube-controller-manager and kube-scheduler write.

Matrix: a Deployment gets a ReplicaSet owned by it, the ReplicaSet creates its Pods, the Deployment's status
reports observedGeneration, replicas and a Progressing condition; with no nodes the scheduler marks each Pod
Unschedulable (the state of a zone with no capacity); deleting the Deployment garbage-collects the ReplicaSet.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import pytest
from kubernetes import client

from reconciler.sandbox.localkube import LocalKube
from tests.fixtures.kube import admin_client

pytestmark = pytest.mark.integration

T = TypeVar("T")
_TIMEOUT_S = 120.0


def _eventually(probe: Callable[[], T | None], what: str) -> T:
    """Poll until `probe` returns something (controllers are asynchronous and the machine may be loaded)."""
    deadline = time.monotonic() + _TIMEOUT_S
    while True:
        found = probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {_TIMEOUT_S:.0f} s waiting for {what}")
        time.sleep(0.3)


def _deployment(replicas: int) -> client.V1Deployment:
    labels = {"app": "fraud-scorer"}
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name="fraud-scorer"),
        spec=client.V1DeploymentSpec(
            replicas=replicas,
            selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(
                    containers=[client.V1Container(name="runtime", image="registry.invalid/edgeops/runtime:1")]
                ),
            ),
        ),
    )


def test_deployment_rolls_out_through_the_controllers(kube_zones: LocalKube, kube_namespace: str) -> None:
    api_client = admin_client(kube_zones, "zone-b")
    apps, core = client.AppsV1Api(api_client), client.CoreV1Api(api_client)
    deployment = apps.create_namespaced_deployment(kube_namespace, _deployment(replicas=2))

    def owned_replica_set() -> client.V1ReplicaSet | None:
        for rs in apps.list_namespaced_replica_set(kube_namespace).items:
            if any(ref.uid == deployment.metadata.uid for ref in rs.metadata.owner_references or []):
                return rs
        return None

    replica_set = _eventually(owned_replica_set, "a ReplicaSet owned by the Deployment")
    assert replica_set.spec.replicas == 2

    def reported_status() -> client.V1DeploymentStatus | None:
        status = apps.read_namespaced_deployment_status("fraud-scorer", kube_namespace).status
        done = status.observed_generation == deployment.metadata.generation and status.replicas == 2
        return status if done else None

    status = _eventually(reported_status, "the Deployment's status to count 2 replicas")
    assert status.unavailable_replicas == 2  # no nodes: nothing can run
    assert "Progressing" in {condition.type for condition in status.conditions}

    def unschedulable_pods() -> list[client.V1Pod] | None:
        pods = core.list_namespaced_pod(kube_namespace, label_selector="app=fraud-scorer").items
        marked = [
            pod
            for pod in pods
            if any(c.type == "PodScheduled" and c.reason == "Unschedulable" for c in pod.status.conditions or [])
        ]
        return marked if len(marked) == 2 else None

    _eventually(unschedulable_pods, "the scheduler to mark both Pods Unschedulable")

    apps.delete_namespaced_deployment("fraud-scorer", kube_namespace, propagation_policy="Background")
    _eventually(lambda: True if owned_replica_set() is None else None, "the ReplicaSet to be garbage-collected")
