"""A registry that requires credentials (htpasswd basic auth): push and pull work with EDGEOPS_REGISTRY_USERNAME /
EDGEOPS_REGISTRY_PASSWORD from the environment; without them push is refused before uploading (exit path: a
RegistryRejected naming the variables) and the edge pull is an `AccessDenied` counted with reason `denied`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from reconciler.app.modelops.push import push_model_version
from reconciler.shells.registry import RegistryRejected, parse_registry
from runtime.artifacts import AccessDenied, ModelPuller, PullMetrics
from tests.fixtures.registry import LocalRegistry, running_registry

pytestmark = pytest.mark.integration

# A throwaway credential generated into the test registry's htpasswd; nothing real.
USER, PASSWORD = "edge-ci", "not-a-real-secret"


@pytest.fixture
def private_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    with running_registry(tmp_path_factory.mktemp("private-registry"), credentials=(USER, PASSWORD)) as registry:
        yield registry


async def test_credentials_from_the_environment(
    private_registry: LocalRegistry, tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    location = parse_registry(f"{private_registry.host}/edge-models")
    monkeypatch.delenv("EDGEOPS_REGISTRY_USERNAME", raising=False)
    monkeypatch.delenv("EDGEOPS_REGISTRY_PASSWORD", raising=False)
    with pytest.raises(RegistryRejected, match="EDGEOPS_REGISTRY_USERNAME"):
        push_model_version(tiny_model_dir, "1.0.0", registries=[location], record=False)

    monkeypatch.setenv("EDGEOPS_REGISTRY_USERNAME", USER)
    monkeypatch.setenv("EDGEOPS_REGISTRY_PASSWORD", PASSWORD)
    outcome = push_model_version(tiny_model_dir, "1.0.0", registries=[location])
    ref = f"{private_registry.host}/edge-models/tiny-scorer:1.0.0"
    puller = ModelPuller(tmp_path / "edge", metrics=PullMetrics(CollectorRegistry()))
    assert (await puller.ensure(ref, outcome.digest, model="tiny")).read_bytes() == outcome.build.data

    monkeypatch.delenv("EDGEOPS_REGISTRY_PASSWORD")
    metrics = CollectorRegistry()
    anonymous = ModelPuller(tmp_path / "edge-anonymous", metrics=PullMetrics(metrics))
    with pytest.raises(AccessDenied, match="401"):
        await anonymous.ensure(ref, outcome.digest, model="tiny")
    assert metrics.get_sample_value("edgeops_model_pull_failures_total", {"model": "tiny", "reason": "denied"}) == 1
    assert not anonymous.target_path(outcome.digest).exists()
