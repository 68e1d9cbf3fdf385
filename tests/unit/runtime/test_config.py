"""Runtime config contract: a full example round-trips through JSON unchanged; strictness (no coercion, no
unknown fields, frozen); each cross-field rule (count takes no field, other ops need one, duplicate feature
names, duplicate deployments, both NATS credentials) fails with a message naming the place."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from runtime.config import ConfigError, ExecutionProvider, RuntimeConfig, Track, load_runtime_config

pytestmark = pytest.mark.unit

DIGEST = "sha256:" + "ab" * 32


def example() -> dict[str, Any]:
    return {
        "zone": "fra-1",
        "region": "eu-central",
        "nats": {"url": "nats://127.0.0.1:4222", "creds_file_env": "NATS_CREDS"},
        "models": [
            {
                "name": "fraud-scoring",
                "version": "1.2.0",
                "track": "canary",
                "artifact": {"ref": "registry.local/models/fraud-scoring:1.2.0", "digest": DIGEST},
                "subjects": {
                    "stream": "TX",
                    "input": "tx.canary.fra-1",
                    "durable": "fraud-scoring-canary",
                    "result": "scores.fra-1",
                    "shadow": "scores.shadow.fra-1",
                    "dead_letter": "dlq.fra-1",
                },
                "window": {
                    "key": "card_id",
                    "size": 32,
                    "features": [
                        {"name": "amount", "op": "last", "field": "amount"},
                        {"name": "tx_count", "op": "count"},
                    ],
                },
                "batching": {"max_batch_size": 32, "max_latency_ms": 2.0},
                "providers": ["cuda", "cpu"],
                "mqtt": {"url": "mqtt://127.0.0.1:1883", "topic": "tx/#", "client_id": "fra-1-fraud"},
                "pull": {"interval_s": 600, "window": {"start": "22:00", "end": "04:00"}},
            }
        ],
        "metrics_port": 9464,
    }


def test_example_round_trips_through_json(tmp_path: Path) -> None:
    path = tmp_path / "runtime.json"
    path.write_text(json.dumps(example()))
    config = load_runtime_config(path)
    model = config.models[0]
    assert model.track is Track.CANARY
    assert model.providers == (ExecutionProvider.CUDA, ExecutionProvider.CPU)
    assert model.deployment_id == "fraud-scoring.canary"
    assert model.artifact.path_in(Path("/m")) == Path("/m") / f"{'ab' * 32}.onnx"
    assert RuntimeConfig.model_validate_json(config.model_dump_json()) == config


def test_config_is_frozen() -> None:
    config = RuntimeConfig.model_validate_json(json.dumps(example()))
    with pytest.raises(ValidationError):
        config.zone = "other"  # type: ignore[misc]


def _errors(doc: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as info:
        RuntimeConfig.model_validate_json(json.dumps(doc))
    return str(info.value)


def test_no_coercion_and_no_unknown_fields() -> None:
    doc = example()
    doc["metrics_port"] = "9464"
    assert "metrics_port" in _errors(doc)
    doc = example()
    doc["models"][0]["surprise"] = 1
    assert "surprise" in _errors(doc)


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        (
            lambda d: d["models"][0]["window"]["features"].append({"name": "n", "op": "count", "field": "x"}),
            "takes no field",
        ),
        (lambda d: d["models"][0]["window"]["features"].append({"name": "n", "op": "mean"}), "needs a field"),
        (lambda d: d["models"][0]["window"]["features"].append({"name": "amount", "op": "count"}), "duplicate names"),
        (lambda d: d["models"].append(d["models"][0]), "name+track appears once"),
        (lambda d: d["nats"].update(token_env="NATS_TOKEN"), "not both"),
        (lambda d: d["nats"].update(creds_file_env="lower-case"), "creds_file_env"),
        (lambda d: d["models"][0]["artifact"].update(digest="sha256:xyz"), "digest"),
        (lambda d: d["models"][0].update(track="beta"), "track"),
        (lambda d: d["models"][0]["pull"]["window"].update(start="25:00"), "start"),
    ],
)
def test_invalid_configs_say_where(edit: Any, needle: str) -> None:
    doc = example()
    edit(doc)
    assert needle in _errors(doc)


def test_load_reports_path_and_field(tmp_path: Path) -> None:
    path = tmp_path / "runtime.json"
    doc = example()
    doc["models"][0]["window"]["size"] = 0
    path.write_text(json.dumps(doc))
    with pytest.raises(ConfigError) as info:
        load_runtime_config(path)
    assert str(path) in str(info.value)
    assert "models.0.window.size" in str(info.value)
    with pytest.raises(ConfigError, match="cannot read"):
        load_runtime_config(tmp_path / "missing.json")
