"""sensor-anomaly: anomaly score from the last 32 readings of a device (temperature, vibration, current).

Built from source: readings are generated with a fixed seed (per-device baselines with noise, plus injected
faults: vibration bursts, overheating, current surges and drop-outs), featurised with
`runtime.features.replay` (exactly what serving computes), and a tiny MLP is trained and exported with
`onnx.helper`. Building twice gives the same bytes.

IO signature (opset 17, IR 8, producer edgeops-models 1):
    input  features  float32 [batch, 10]
    output score     float32 [batch, 1]   anomaly score in (0, 1)

Input record: {"device_id": str, "ts": float (unix s), "temperature": float (deg C), "vibration": float
(g RMS), "current": float (A)}. Window spec (model.yaml `window:`):

    window:
      key: device_id
      size: 32
      features:
        - {name: temperature, op: last, field: temperature}
        - {name: temperature_mean, op: mean, field: temperature}
        - {name: temperature_zscore, op: zscore, field: temperature}
        - {name: vibration, op: last, field: vibration}
        - {name: vibration_max, op: max, field: vibration}
        - {name: vibration_zscore, op: zscore, field: vibration}
        - {name: current, op: last, field: current}
        - {name: current_std, op: std, field: current}
        - {name: current_zscore, op: zscore, field: current}
        - {name: gap_s, op: delta, field: ts}

Run `python models/sensor-anomaly/build.py out.onnx` to write the model, `--golden` to rewrite golden.json.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from runtime.config import WindowConfig
from runtime.training import (
    Mlp,
    Recipe,
    build_main,
    golden_document,
    recipe_for,
    round_records,
    to_onnx,
    train_window_model,
    version_recipes,
)

NAME = "sensor-anomaly"
FOLDER = Path(__file__).resolve().parent
GOLDEN_SEED = 20240613  # the golden records; each version's training seed is in model.yaml
WINDOW = WindowConfig.model_validate(
    {
        "key": "device_id",
        "size": 32,
        "features": [
            {"name": "temperature", "op": "last", "field": "temperature"},
            {"name": "temperature_mean", "op": "mean", "field": "temperature"},
            {"name": "temperature_zscore", "op": "zscore", "field": "temperature"},
            {"name": "vibration", "op": "last", "field": "vibration"},
            {"name": "vibration_max", "op": "max", "field": "vibration"},
            {"name": "vibration_zscore", "op": "zscore", "field": "vibration"},
            {"name": "current", "op": "last", "field": "current"},
            {"name": "current_std", "op": "std", "field": "current"},
            {"name": "current_zscore", "op": "zscore", "field": "current"},
            {"name": "gap_s", "op": "delta", "field": "ts"},
        ],
    },
    strict=False,
)
FAULTS = ("vibration", "overheat", "surge", "dropout")


def generate(seed: int, devices: int, readings: tuple[int, int]) -> tuple[list[dict[str, Any]], list[int]]:
    """Readings in per-device order and their anomaly labels."""
    rng = np.random.default_rng(seed)
    records: list[dict[str, Any]] = []
    labels: list[int] = []
    for device in range(devices):
        device_id = f"dev-{seed % 1000:03d}-{device:05d}"
        base_t = float(rng.normal(45, 6))
        base_v = float(rng.uniform(0.2, 0.8))
        base_c = float(rng.uniform(4, 16))
        ts = 1_700_000_000.0 + float(rng.uniform(0, 3600))
        count = int(rng.integers(*readings))
        fault_at = int(rng.integers(8, count)) if rng.random() < 0.5 else -1
        fault_len = int(rng.integers(4, 16))
        fault = FAULTS[int(rng.integers(len(FAULTS)))]
        drift = 0.0
        for i in range(count):
            drift += float(rng.normal(0, 0.05))
            temperature = base_t + drift + float(rng.normal(0, 0.4))
            vibration = base_v * float(rng.lognormal(0, 0.08))
            current = base_c * float(rng.normal(1, 0.03))
            gap = float(rng.normal(1.0, 0.05))
            anomalous = fault_at >= 0 and fault_at <= i < fault_at + fault_len
            if anomalous:
                if fault == "vibration":
                    vibration *= float(rng.uniform(3, 7))
                elif fault == "overheat":
                    temperature += float(rng.uniform(12, 30))
                elif fault == "surge":
                    current *= float(rng.choice([rng.uniform(1.6, 2.5), rng.uniform(0.0, 0.3)]))
                else:
                    gap += float(rng.uniform(20, 300))
            ts += max(gap, 0.1)
            records.append(
                {
                    "device_id": device_id,
                    "ts": ts,
                    "temperature": temperature,
                    "vibration": vibration,
                    "current": current,
                }
            )
            labels.append(int(anomalous))
    return round_records(records), labels


def train(recipe: Recipe) -> Mlp:
    records, labels = generate(recipe.seed, devices=recipe.samples, readings=(60, 120))
    return train_window_model(WINDOW, records, labels, recipe)


def build_onnx(recipe: Mapping[str, Any] | None = None) -> bytes:
    """The artifact of one version: `recipe` is its model.yaml `build` block (default: the first version's)."""
    return to_onnx(
        train(recipe_for(FOLDER, recipe)), graph_name=NAME, doc=f"{NAME}: anomaly score over the last 32 readings"
    )


def golden_vectors() -> dict[str, Any]:
    """Records (replayed in order through the window), their feature vectors and every version's expected scores."""
    records, _ = generate(GOLDEN_SEED, devices=3, readings=(14, 22))
    models = {version: train(recipe) for version, recipe in version_recipes(FOLDER / "model.yaml").items()}
    return golden_document(NAME, WINDOW, models, records)


if __name__ == "__main__":
    build_main(NAME, FOLDER, build_onnx, golden_vectors)
