"""Edge pull under failure, against a real registry that is stopped and restarted:

- registry down → the puller raises RegistryUnavailable quickly, counts it, keeps the cached model;
- scheduler level: a zone serving v1 is reconfigured to v2 while the registry is down → v1 keeps serving (loaded
  by the runtime's own `runtime.session.load_model`, which re-checks the digest and the IO signature, and still
  answering inference), the failure metric and status say why; once the registry is back the next attempt swaps
  to v2;
- a load failure in the model manager keeps the old model and is counted with reason `load`;
- updates wait for the pull window (the first pull does not).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from reconciler.app.modelops.push import PushOutcome, push_model_version
from reconciler.shells.registry import parse_registry
from runtime.artifacts import ModelPuller, PullMetrics, PullScheduler, RegistryUnavailable
from runtime.config import ModelDeploymentConfig
from runtime.session import LoadedModel, load_model
from tests.fixtures.model_source import make_model_dir
from tests.fixtures.registry import LocalRegistry

pytestmark = pytest.mark.integration

FEATURES = np.array([[0.5, -1.0, 2.0, 0.25]], dtype=np.float32)


def _deployment(ref: str, digest: str, window: dict[str, str] | None = None) -> ModelDeploymentConfig:
    doc: dict[str, Any] = {
        "name": "tiny-scorer",
        "version": "1.0.0",
        "track": "stable",
        "artifact": {"ref": ref, "digest": digest},
        "subjects": {
            "stream": "SENSORS",
            "input": "sensors.in",
            "durable": "tiny",
            "result": "sensors.out",
            "shadow": "sensors.shadow",
            "dead_letter": "sensors.dlq",
        },
        "window": {
            "key": "device_id",
            "size": 8,
            "features": [{"name": n, "op": "last", "field": n} for n in ("a", "b", "c", "d")],
        },
        "providers": ["cpu"],
        "pull": {"interval_s": 10, "window": window},
    }
    return ModelDeploymentConfig.model_validate_json(json.dumps(doc))


class ServingSlot:
    """The model manager's part: load with the runtime's loader (digest + signature checks, warm-up), then swap
    the reference, as the runtime's hot swap does between batches."""

    def __init__(self, refuse: set[str] | None = None) -> None:
        self.model: LoadedModel | None = None
        self.loaded: list[Path] = []
        self.refuse = refuse or set()

    async def on_update(self, deployment: ModelDeploymentConfig, path: Path) -> None:
        if deployment.artifact.digest in self.refuse:
            raise RuntimeError("refusing this model in the test")
        model = load_model(deployment, path.parent)
        self.model = model
        self.loaded.append(path)

    def score(self) -> float:
        assert self.model is not None
        return float(self.model.run(FEATURES)[0])


def _push(registry: LocalRegistry, folder: Path, seed: int, version: str) -> PushOutcome:
    make_model_dir(folder, seed=seed)
    return push_model_version(folder, version, registries=[parse_registry(f"{registry.host}/edge-models")])


async def test_registry_down_keeps_the_old_model_serving(oci_registry: LocalRegistry, tmp_path: Path) -> None:
    v1 = _push(oci_registry, tmp_path / "v1" / "tiny-scorer", seed=1, version="1.0.0")
    v2 = _push(oci_registry, tmp_path / "v2" / "tiny-scorer", seed=2, version="1.1.0")
    ref = f"{oci_registry.host}/edge-models/tiny-scorer"
    metrics = CollectorRegistry()
    puller = ModelPuller(tmp_path / "edge", metrics=PullMetrics(metrics), timeout_s=10)
    slot = ServingSlot()

    scheduler = PullScheduler(puller, [_deployment(f"{ref}:1.0.0", v1.digest)], slot.on_update)
    assert await scheduler.pull_once(scheduler.deployments[0])
    v1_score = slot.score()

    oci_registry.stop()
    # Direct ensure of a new digest: a fast, typed failure.
    with pytest.raises(RegistryUnavailable):
        await puller.ensure(f"{ref}:1.1.0", v2.digest, model="probe")
    # The cached v1 is still verifiable and usable without the registry.
    assert (await puller.ensure(f"{ref}:1.0.0", v1.digest, model="probe")).read_bytes() == v1.build.data

    # The config moves the zone to v2 while the registry is down.
    scheduler.reconfigure([_deployment(f"{ref}:1.1.0", v2.digest)])
    deployment = scheduler.deployments[0]
    assert not await scheduler.pull_once(deployment)
    assert slot.loaded == [puller.target_path(v1.digest)]
    assert slot.score() == v1_score
    assert scheduler.serving_digest(deployment) == v1.digest
    failures = metrics.get_sample_value(
        "edgeops_model_pull_failures_total", {"model": "tiny-scorer.stable", "reason": "unavailable"}
    )
    assert failures == 1
    status = puller.status("tiny-scorer.stable")
    assert status.last_error_reason == "unavailable"
    assert status.consecutive_failures == 1
    assert puller.target_path(v1.digest).exists()

    oci_registry.start()
    assert await scheduler.pull_once(deployment)
    assert scheduler.serving_digest(deployment) == v2.digest
    assert slot.score() != v1_score
    assert puller.status("tiny-scorer.stable").consecutive_failures == 0
    last_success = metrics.get_sample_value(
        "edgeops_model_pull_last_success_timestamp_seconds", {"model": "tiny-scorer.stable"}
    )
    assert last_success is not None
    assert last_success > 0
    # v1 is no longer serving or configured: its cached file is pruned.
    assert not puller.target_path(v1.digest).exists()


async def test_load_failure_keeps_the_old_model(oci_registry: LocalRegistry, tmp_path: Path) -> None:
    v1 = _push(oci_registry, tmp_path / "v1" / "tiny-scorer", seed=1, version="1.0.0")
    v2 = _push(oci_registry, tmp_path / "v2" / "tiny-scorer", seed=2, version="1.1.0")
    ref = f"{oci_registry.host}/edge-models/tiny-scorer"
    metrics = CollectorRegistry()
    puller = ModelPuller(tmp_path / "edge", metrics=PullMetrics(metrics))
    slot = ServingSlot(refuse={v2.digest})
    scheduler = PullScheduler(puller, [_deployment(f"{ref}:1.0.0", v1.digest)], slot.on_update)
    assert await scheduler.pull_once(scheduler.deployments[0])

    scheduler.reconfigure([_deployment(f"{ref}:1.1.0", v2.digest)])
    assert not await scheduler.pull_once(scheduler.deployments[0])
    assert scheduler.serving_digest(scheduler.deployments[0]) == v1.digest
    assert slot.loaded == [puller.target_path(v1.digest)]
    reason = {"model": "tiny-scorer.stable", "reason": "load"}
    assert metrics.get_sample_value("edgeops_model_pull_failures_total", reason) == 1
    assert puller.status("tiny-scorer.stable").last_error_reason == "load"


async def test_updates_wait_for_the_window_but_the_first_pull_does_not(
    oci_registry: LocalRegistry, tmp_path: Path
) -> None:
    v1 = _push(oci_registry, tmp_path / "v1" / "tiny-scorer", seed=1, version="1.0.0")
    v2 = _push(oci_registry, tmp_path / "v2" / "tiny-scorer", seed=2, version="1.1.0")
    ref = f"{oci_registry.host}/edge-models/tiny-scorer"
    puller = ModelPuller(tmp_path / "edge", metrics=PullMetrics(CollectorRegistry()))
    slot = ServingSlot()
    noon = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
    night = {"start": "01:00", "end": "03:00"}
    now = [noon]
    scheduler = PullScheduler(
        puller, [_deployment(f"{ref}:1.0.0", v1.digest, night)], slot.on_update, clock=lambda: now[0]
    )
    assert await scheduler.pull_once(scheduler.deployments[0])  # nothing serving yet: pulled outside the window

    scheduler.reconfigure([_deployment(f"{ref}:1.1.0", v2.digest, night)])
    assert not await scheduler.pull_once(scheduler.deployments[0])
    assert not puller.target_path(v2.digest).exists()
    now[0] = noon.replace(hour=2)
    assert await scheduler.pull_once(scheduler.deployments[0])
    assert scheduler.serving_digest(scheduler.deployments[0]) == v2.digest
