"""Synthetic traffic (runtime.sources.synthetic): with no data yet every draw is generated; with windows of the same model
in the process, the blend follows `real_fraction` (all real at 1.0, all generated at 0.0) and real draws equal the
features of a stored record; drawing never changes a window; emitted results go to the shadow subject only, with
the Edgeops-Synthetic header, and are counted."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from runtime.config import SyntheticTrafficConfig
from runtime.features import feature_vector
from runtime.metrics import Metrics
from runtime.pipeline import DeploymentPipeline
from runtime.session import load_model
from runtime.sources import SyntheticTraffic
from runtime.store import DeploymentWindows
from tests.fixtures.edge_runtime import build_example_model, deployment

pytestmark = pytest.mark.unit

MODEL = "sensor-anomaly"


class Recorder:
    """Stands in for the NATS connection: collects what would be published."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, dict[str, str]]] = []

    async def publish(self, subject: str, payload: bytes, headers: dict[str, str]) -> None:
        self.sent.append((subject, payload, headers))


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> DeploymentPipeline:
    path, digest, window = build_example_model(MODEL, tmp_path_factory.mktemp("models"))
    from runtime.config import ModelDeploymentConfig

    config = ModelDeploymentConfig.model_validate_json(json.dumps(deployment(MODEL, digest, window, track="canary")))
    model = load_model(config, Path(path).parent)
    return DeploymentPipeline(config, model, DeploymentWindows(config.deployment_id, 32, 100), Metrics(), "z")


def _traffic(pipeline: DeploymentPipeline, real_fraction: float, peers: dict[str, Any]) -> SyntheticTraffic:
    config = SyntheticTrafficConfig(rate_per_s=100.0, real_fraction=real_fraction, seed=1)
    return SyntheticTraffic(config, pipeline, Recorder(), peers, asyncio.Event())


def test_blend_follows_real_fraction_and_leaves_windows_alone(pipeline: DeploymentPipeline) -> None:
    spec = pipeline.config.window
    assert {kind for kind, _ in (_traffic(pipeline, 1.0, {}).draw() for _ in range(20))} == {"generated"}
    stable = DeploymentWindows("sensor-anomaly.stable", 32, 100)
    for seq in range(1, 6):
        stable.apply("dev-1", seq, (40.0 + seq, 30.0 + seq, 0.5, 10.0))
    stable_pipeline = type("P", (), {"config": pipeline.config.model_copy(), "windows": stable})()
    peers: dict[str, Any] = {"sensor-anomaly.stable": stable_pipeline}
    before = (list(stable.windows["dev-1"].seqs), list(stable.windows["dev-1"].rows))
    real = [_traffic(pipeline, 1.0, peers).draw() for _ in range(10)]
    assert {kind for kind, _ in real} == {"real"}
    assert real[0][1] == feature_vector(spec, stable.windows["dev-1"].rows)
    assert {kind for kind, _ in (_traffic(pipeline, 0.0, peers).draw() for _ in range(10))} == {"generated"}
    blend = _traffic(pipeline, 0.5, peers)
    mixed = [blend.draw()[0] for _ in range(200)]
    assert 40 < mixed.count("real") < 160
    assert (stable.windows["dev-1"].seqs, stable.windows["dev-1"].rows) == before


async def test_emitted_results_go_to_shadow_only(pipeline: DeploymentPipeline) -> None:
    traffic = _traffic(pipeline, 0.5, {})
    await traffic._emit(5)
    recorder = traffic.nc
    assert isinstance(recorder, Recorder)
    assert [subject for subject, _, _ in recorder.sent] == ["out.shadow"] * 5
    assert all(headers["Edgeops-Synthetic"] in {"real", "generated"} for _, _, headers in recorder.sent)
    bodies = [json.loads(payload) for _, payload, _ in recorder.sent]
    assert all(0.0 <= b["score"] <= 1.0 and b["track"] == "canary" for b in bodies)
    metrics = pipeline.metrics.registry.get_sample_value(
        "edgeops_synthetic_total",
        {"zone": "z", "model": MODEL, "version": "1.0.0", "track": "canary", "provider": "cpu"},
    )
    assert metrics == 5.0
