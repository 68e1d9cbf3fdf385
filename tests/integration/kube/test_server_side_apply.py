"""Server-side apply against the real kube-apiserver (shared zone-a).

Matrix: create with field manager `edgeops` -> managedFields names it; identical re-apply -> resourceVersion
unchanged; a second manager's apply of a field `edgeops` owns -> HTTP 409 naming the conflict; the same apply with
force -> succeeds and the field moves to the second manager.
"""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes.dynamic.exceptions import ConflictError

from reconciler.sandbox.localkube import LocalKube
from tests.fixtures.kube import dynamic_client

pytestmark = pytest.mark.integration


def _config_map(namespace: str, data: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "runtime-config",
            "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": "edgeops"},
        },
        "data": data,
    }


def _managers(obj: Any) -> set[str]:
    return {entry["manager"] for entry in obj.to_dict()["metadata"]["managedFields"]}


def test_apply_creates_then_reapply_writes_nothing(kube_zones: LocalKube, kube_namespace: str) -> None:
    client = dynamic_client(kube_zones, "zone-a")
    config_maps = client.resources.get(api_version="v1", kind="ConfigMap")
    desired = _config_map(kube_namespace, {"model": "fraud-v3", "threshold": "0.8"})

    created = client.server_side_apply(config_maps, body=desired, field_manager="edgeops")
    assert created.data.model == "fraud-v3"
    assert _managers(created) == {"edgeops"}

    again = client.server_side_apply(config_maps, body=desired, field_manager="edgeops")
    assert again.metadata.resourceVersion == created.metadata.resourceVersion

    changed = client.server_side_apply(
        config_maps,
        body=_config_map(kube_namespace, {"model": "fraud-v4", "threshold": "0.8"}),
        field_manager="edgeops",
    )
    assert changed.metadata.resourceVersion != created.metadata.resourceVersion


def test_conflicting_manager_gets_409_until_it_forces(kube_zones: LocalKube, kube_namespace: str) -> None:
    client = dynamic_client(kube_zones, "zone-a")
    config_maps = client.resources.get(api_version="v1", kind="ConfigMap")
    client.server_side_apply(
        config_maps, body=_config_map(kube_namespace, {"model": "fraud-v3"}), field_manager="edgeops"
    )
    intruder = _config_map(kube_namespace, {"model": "hand-edited"})

    with pytest.raises(ConflictError) as conflict:
        client.server_side_apply(config_maps, body=intruder, field_manager="kubectl-edit")
    assert conflict.value.status == 409
    assert ".data.model" in conflict.value.body
    assert "edgeops" in conflict.value.body

    forced = client.server_side_apply(config_maps, body=intruder, field_manager="kubectl-edit", force_conflicts=True)
    assert forced.data.model == "hand-edited"
    owners = {
        entry["manager"]
        for entry in forced.to_dict()["metadata"]["managedFields"]
        if "f:model" in entry.get("fieldsV1", {}).get("f:data", {})
    }
    assert owners == {"kubectl-edit"}
