"""CRD objects validated by the real apiserver (shared zone-b; CRDs from ../shared/crds or tests/env/crds).

Matrix: NodePool v1beta2 (cluster-scoped) valid -> created; created (POST) with a wrongly typed field -> HTTP 422
naming the field; server-side applied with a wrongly typed field -> rejected naming the field (Kubernetes v1.35
answers 500 here, from building the typed patch, not 422: error handling must not assume 4xx); applied with a
taint lacking its required key -> 422; HelmChart v1 valid -> created; with a value outside its enum -> 422.
Our minimal fallback CRDs (tests/env/crds, used when ../shared/crds is absent) are accepted by the apiserver and
validate the same fields the same way.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from kubernetes.dynamic.exceptions import DynamicApiError, UnprocessibleEntityError

from reconciler.sandbox.localkube import FALLBACK_CRD_DIR, LocalKube, ZoneOptions
from tests.fixtures.kube import KubeFactory, dynamic_client

pytestmark = pytest.mark.integration


def _node_pool(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "apps.openyurt.io/v1beta2", "kind": "NodePool", "metadata": {"name": name}, "spec": spec}


def test_valid_node_pool_is_stored(kube_zones: LocalKube) -> None:
    client = dynamic_client(kube_zones, "zone-b")
    pools = client.resources.get(api_version="apps.openyurt.io/v1beta2", kind="NodePool")
    name = f"gpu-{uuid.uuid4().hex[:8]}"
    body = _node_pool(name, type="Edge", hostNetwork=False, labels={"edgeops.io/zone": "zone-b"})
    created = client.server_side_apply(pools, body=body, field_manager="edgeops")
    try:
        assert created.spec.type == "Edge"
        assert pools.get(name=name).spec.labels["edgeops.io/zone"] == "zone-b"
    finally:
        pools.delete(name=name)


def test_node_pool_with_wrong_field_type_is_rejected(kube_zones: LocalKube) -> None:
    client = dynamic_client(kube_zones, "zone-b")
    pools = client.resources.get(api_version="apps.openyurt.io/v1beta2", kind="NodePool")
    bad = _node_pool(f"bad-{uuid.uuid4().hex[:8]}", type="Edge", hostNetwork="yes please")

    with pytest.raises(UnprocessibleEntityError) as created:
        pools.create(body=bad)
    assert "spec.hostNetwork" in created.value.body

    with pytest.raises(DynamicApiError) as applied:
        client.server_side_apply(pools, body=bad, field_manager="edgeops")
    assert applied.value.status >= 400
    assert "spec.hostNetwork" in applied.value.body
    assert "expected boolean" in applied.value.body
    assert bad["metadata"]["name"] not in {item.metadata.name for item in pools.get().items}


def test_node_pool_taint_without_key_is_rejected(kube_zones: LocalKube) -> None:
    client = dynamic_client(kube_zones, "zone-b")
    pools = client.resources.get(api_version="apps.openyurt.io/v1beta2", kind="NodePool")
    bad = _node_pool(f"bad-{uuid.uuid4().hex[:8]}", type="Edge", taints=[{"effect": "NoSchedule"}])
    with pytest.raises(UnprocessibleEntityError) as rejected:
        client.server_side_apply(pools, body=bad, field_manager="edgeops")
    assert rejected.value.status == 422
    assert "spec.taints[0].key" in rejected.value.body


def test_helm_chart_is_validated(kube_zones: LocalKube, kube_namespace: str) -> None:
    client = dynamic_client(kube_zones, "zone-b")
    charts = client.resources.get(api_version="helm.cattle.io/v1", kind="HelmChart")
    chart = {
        "apiVersion": "helm.cattle.io/v1",
        "kind": "HelmChart",
        "metadata": {"name": "nats", "namespace": kube_namespace},
        "spec": {
            "chart": "nats",
            "repo": "https://nats-io.github.io/k8s/helm/charts/",
            "version": "1.3.0",
            "targetNamespace": "edgeops-system",
            "failurePolicy": "retry",
        },
    }
    created = client.server_side_apply(charts, body=chart, field_manager="edgeops")
    assert created.spec.chart == "nats"

    chart["spec"]["failurePolicy"] = "give-up"
    with pytest.raises(UnprocessibleEntityError) as rejected:
        client.server_side_apply(charts, body=chart, field_manager="edgeops")
    assert "spec.failurePolicy" in rejected.value.body


def test_fallback_crds_validate_the_same_fields(kube_factory: KubeFactory) -> None:
    env = kube_factory(["fallback"], ZoneOptions(controllers=False), crd_dir=FALLBACK_CRD_DIR)
    client = dynamic_client(env, "fallback")
    pools = client.resources.get(api_version="apps.openyurt.io/v1beta2", kind="NodePool")
    created = client.server_side_apply(
        pools, body=_node_pool("edge", type="Edge", hostNetwork=True), field_manager="edgeops"
    )
    assert created.spec.hostNetwork is True
    with pytest.raises(UnprocessibleEntityError) as rejected:
        pools.create(body=_node_pool("bad", type="Edge", hostNetwork="yes please"))
    assert "spec.hostNetwork" in rejected.value.body
    with pytest.raises(UnprocessibleEntityError) as no_key:
        client.server_side_apply(
            pools, body=_node_pool("bad", taints=[{"effect": "NoSchedule"}]), field_manager="edgeops"
        )
    assert "spec.taints[0].key" in no_key.value.body
    charts = client.resources.get(api_version="helm.cattle.io/v1", kind="HelmChart")
    with pytest.raises(UnprocessibleEntityError) as bad_policy:
        charts.create(
            body={
                "apiVersion": "helm.cattle.io/v1",
                "kind": "HelmChart",
                "metadata": {"name": "nats", "namespace": "default"},
                "spec": {"chart": "nats", "failurePolicy": "give-up"},
            }
        )
    assert "spec.failurePolicy" in bad_policy.value.body
