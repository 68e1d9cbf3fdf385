"""A model outage is transient (runtime.sources.scoring): a featurised batch is scored again until the model
answers, with whatever model is served by then, and every record joins its window once — with stream sequences and
without (MQTT) — so the results equal an uninterrupted run's; a service that stops during the outage gets None (the
messages stay unacked) instead of dead letters."""

from __future__ import annotations

import asyncio
import json

import pytest

from runtime.config import ModelDeploymentConfig
from runtime.metrics import Metrics
from runtime.pipeline import DeploymentPipeline, Incoming
from runtime.session import LoadedModel, load_model
from runtime.sources.scoring import score_until_available
from runtime.store import DeploymentWindows
from tests.fixtures.edge_runtime import build_example_model, build_failing_model, deployment

pytestmark = pytest.mark.unit

MODEL = "sensor-anomaly"
RECORDS = [
    {"device_id": f"d{i % 2}", "ts": float(i), "temperature": 40.0 + i, "vibration": 0.5, "current": 10.0 - i}
    for i in range(8)
]


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> tuple[ModelDeploymentConfig, LoadedModel, LoadedModel]:
    model_dir = tmp_path_factory.mktemp("models")
    _, digest, window = build_example_model(MODEL, model_dir)
    good = ModelDeploymentConfig.model_validate_json(json.dumps(deployment(MODEL, digest, window)))
    _, failing_digest = build_failing_model(model_dir, len(good.window.features))
    failing = good.model_copy(update={"artifact": good.artifact.model_copy(update={"digest": failing_digest})})
    return good, load_model(good, model_dir), load_model(failing, model_dir)


def _pipeline(config: ModelDeploymentConfig, model: LoadedModel) -> DeploymentPipeline:
    return DeploymentPipeline(config, model, DeploymentWindows(config.deployment_id, 32, 100), Metrics(), "z")


def _batch(with_seq: bool) -> list[Incoming]:
    return [
        Incoming(payload=json.dumps(r).encode(), seq=i + 1 if with_seq else None, input_id=f"IN:{i}",
                 source="in.sensor", stream_ts=0.0)
        for i, r in enumerate(RECORDS)
    ]  # fmt: skip


@pytest.mark.parametrize("with_seq", [True, False], ids=["jetstream", "mqtt"])
async def test_a_batch_is_scored_once_the_model_answers_and_joins_its_windows_once(
    models: tuple[ModelDeploymentConfig, LoadedModel, LoadedModel], with_seq: bool
) -> None:
    config, good, failing = models
    pipeline = _pipeline(config, failing)

    async def roll_back() -> None:
        await asyncio.sleep(0.7)  # a few failed attempts first
        pipeline.swap(good)

    rollback = asyncio.create_task(roll_back())
    out = await score_until_available(pipeline, pipeline.featurise(_batch(with_seq)), asyncio.Event())
    await rollback
    expected = _pipeline(config, good).process(_batch(with_seq))
    assert out is not None
    assert [o.payload for o in out] == [o.payload for o in expected]
    assert {k: len(w.rows) for k, w in pipeline.windows.windows.items()} == {"d0": 4, "d1": 4}
    failed = pipeline.metrics.registry.get_sample_value("edgeops_errors_total", {"reason": "inference",
        "zone": "z", "model": MODEL, "version": "1.0.0", "track": "stable", "provider": "cpu"})  # fmt: skip
    assert failed is not None
    assert failed >= 2 * len(RECORDS)  # each failed attempt counts the batch


async def test_stopping_during_an_outage_leaves_the_batch_unanswered(
    models: tuple[ModelDeploymentConfig, LoadedModel, LoadedModel],
) -> None:
    config, _, failing = models
    pipeline = _pipeline(config, failing)
    stopping = asyncio.Event()
    asyncio.get_running_loop().call_later(0.5, stopping.set)
    assert await score_until_available(pipeline, pipeline.featurise(_batch(True)), stopping) is None
