"""RBAC enforced by the real apiserver (shared zone-c): the static-token user `edgeops-limited`.

Matrix: inside its namespace -> create, list, delete succeed; another namespace, cluster-scoped resources -> 403;
an unknown token -> 401.
"""

from __future__ import annotations

import uuid

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from reconciler.sandbox.localkube import LIMITED_USER, LocalKube
from tests.fixtures.kube import limited_client

pytestmark = pytest.mark.integration


def _config_map(name: str) -> client.V1ConfigMap:
    return client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name), data={"k": "v"})


def test_limited_user_may_work_inside_its_namespace(kube_zones: LocalKube) -> None:
    zone = kube_zones.zone("zone-c")
    core = client.CoreV1Api(limited_client(zone))
    name = f"cm-{uuid.uuid4().hex[:8]}"
    core.create_namespaced_config_map(zone.limited_namespace, _config_map(name))
    listed = core.list_namespaced_config_map(zone.limited_namespace)
    assert name in {item.metadata.name for item in listed.items}
    core.delete_namespaced_config_map(name, zone.limited_namespace)


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda core: core.list_namespaced_config_map("default"), id="list-other-namespace"),
        pytest.param(
            lambda core: core.create_namespaced_config_map("default", _config_map("x")), id="create-other-namespace"
        ),
        pytest.param(lambda core: core.list_namespace(), id="list-namespaces"),
        pytest.param(lambda core: core.list_node(), id="list-nodes"),
    ],
)
def test_limited_user_is_forbidden_outside(kube_zones: LocalKube, call: object) -> None:
    core = client.CoreV1Api(limited_client(kube_zones.zone("zone-c")))
    with pytest.raises(ApiException) as denied:
        call(core)  # type: ignore[operator]
    assert denied.value.status == 403
    assert LIMITED_USER in denied.value.body


def test_unknown_token_is_unauthorized(kube_zones: LocalKube) -> None:
    zone = kube_zones.zone("zone-c")
    api_client = limited_client(zone)
    api_client.configuration.api_key = {"authorization": "not-a-known-token"}
    with pytest.raises(ApiException) as denied:
        client.CoreV1Api(api_client).list_namespaced_config_map(zone.limited_namespace)
    assert denied.value.status == 401
