"""The Kubernetes shell's pure parts: HTTP status -> error class, resource paths, kubeconfig errors.

Matrix: every documented status maps to its class (and 5xx/429/0 to Unreachable); core and group kinds,
namespaced and cluster-scoped paths; a missing kubeconfig or context is a KubeConfigError naming both.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.shells.kube import (
    KNOWN,
    Conflict,
    Forbidden,
    Invalid,
    KubeConfigError,
    KubeError,
    NotFound,
    Unreachable,
    ZoneClient,
)
from reconciler.shells.kube.errors import error_for_status

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (401, Forbidden),
        (403, Forbidden),
        (404, NotFound),
        (409, Conflict),
        (400, Invalid),
        (422, Invalid),
        (429, Unreachable),
        (500, Unreachable),
        (503, Unreachable),
        (0, Unreachable),
        (418, KubeError),
    ],
)
def test_status_maps_to_error_class(status: int, kind: type[KubeError]) -> None:
    error = error_for_status(status, "msg", "Reason")
    assert type(error) is kind
    assert error.status == status
    assert error.reason == "Reason"


def test_resource_paths() -> None:
    deployment = KNOWN[("apps/v1", "Deployment")]
    assert deployment.object_path("ns", "d") == "/apis/apps/v1/namespaces/ns/deployments/d"
    namespace = KNOWN[("v1", "Namespace")]
    assert namespace.object_path("", "edgeops") == "/api/v1/namespaces/edgeops"
    pool = KNOWN[("apps.openyurt.io/v1beta2", "NodePool")]
    assert pool.object_path("ignored", "p") == "/apis/apps.openyurt.io/v1beta2/nodepools/p"
    assert KNOWN[("v1", "ConfigMap")].collection_path("ns") == "/api/v1/namespaces/ns/configmaps"


def test_missing_kubeconfig_or_context_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(KubeConfigError, match="nowhere"):
        ZoneClient.connect("z", "ctx", tmp_path / "nowhere")
    config = tmp_path / "kubeconfig"
    config.write_text(
        "apiVersion: v1\nkind: Config\nclusters: []\nusers: []\n"
        "contexts:\n- name: other\n  context: {cluster: c, user: u}\ncurrent-context: other\n"
    )
    with pytest.raises(KubeConfigError, match="'ctx'"):
        ZoneClient.connect("z", "ctx", config)
