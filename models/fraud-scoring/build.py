"""fraud-scoring: payment fraud score from the last 32 transactions of a card.

Built from source: transactions are generated with a fixed seed (normal spending per card plus injected
fraud bursts: rapid, large, often foreign), featurised with `runtime.features.replay` (exactly what serving
computes), and a tiny MLP is trained and exported with `onnx.helper`. Building twice gives the same bytes.

IO signature (opset 17, IR 8, producer edgeops-models 1):
    input  features  float32 [batch, 9]
    output score     float32 [batch, 1]   probability-like fraud score in (0, 1)

Input record: {"card_id": str, "ts": float (unix s), "amount": float, "merchant_category": int,
"country_mismatch": 0|1}. Window spec (model.yaml `window:`):

    window:
      key: card_id
      size: 32
      features:
        - {name: amount, op: last, field: amount}
        - {name: amount_mean, op: mean, field: amount}
        - {name: amount_std, op: std, field: amount}
        - {name: amount_zscore, op: zscore, field: amount}
        - {name: amount_max, op: max, field: amount}
        - {name: tx_count, op: count}
        - {name: gap_s, op: delta, field: ts}
        - {name: country_mismatch, op: last, field: country_mismatch}
        - {name: mismatch_count, op: sum, field: country_mismatch}

Run `python models/fraud-scoring/build.py out.onnx` to write the model, `--golden` to rewrite golden.json.
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

NAME = "fraud-scoring"
FOLDER = Path(__file__).resolve().parent
GOLDEN_SEED = 20240612  # the golden records; each version's training seed is in model.yaml
WINDOW = WindowConfig.model_validate(
    {
        "key": "card_id",
        "size": 32,
        "features": [
            {"name": "amount", "op": "last", "field": "amount"},
            {"name": "amount_mean", "op": "mean", "field": "amount"},
            {"name": "amount_std", "op": "std", "field": "amount"},
            {"name": "amount_zscore", "op": "zscore", "field": "amount"},
            {"name": "amount_max", "op": "max", "field": "amount"},
            {"name": "tx_count", "op": "count"},
            {"name": "gap_s", "op": "delta", "field": "ts"},
            {"name": "country_mismatch", "op": "last", "field": "country_mismatch"},
            {"name": "mismatch_count", "op": "sum", "field": "country_mismatch"},
        ],
    },
    strict=False,
)


def generate(seed: int, cards: int, tx_per_card: tuple[int, int]) -> tuple[list[dict[str, Any]], list[int]]:
    """Transactions in per-card order and their fraud labels."""
    rng = np.random.default_rng(seed)
    records: list[dict[str, Any]] = []
    labels: list[int] = []
    for card in range(cards):
        card_id = f"card-{seed % 1000:03d}-{card:05d}"
        typical = float(rng.lognormal(3.5, 0.6))
        ts = 1_700_000_000.0 + float(rng.uniform(0, 86_400))
        count = int(rng.integers(*tx_per_card))
        fraud_at = int(rng.integers(5, count)) if rng.random() < 0.3 else -1
        fraud_len = int(rng.integers(3, 9))
        for i in range(count):
            fraud = fraud_at >= 0 and fraud_at <= i < fraud_at + fraud_len
            if fraud:
                ts += float(rng.uniform(15, 180))
                amount = typical * float(rng.uniform(3, 12))
                mismatch = int(rng.random() < 0.8)
                category = int(rng.choice([5732, 5944, 6051, 7995]))
            else:
                ts += float(rng.exponential(6 * 3600))
                amount = typical * float(rng.lognormal(0, 0.5))
                mismatch = int(rng.random() < 0.03)
                category = int(rng.choice([5411, 5812, 5541, 5999, 4111]))
            records.append(
                {
                    "card_id": card_id,
                    "ts": ts,
                    "amount": amount,
                    "merchant_category": category,
                    "country_mismatch": mismatch,
                }
            )
            labels.append(int(fraud))
    return round_records(records), labels


def train(recipe: Recipe) -> Mlp:
    records, labels = generate(recipe.seed, cards=recipe.samples, tx_per_card=(30, 70))
    return train_window_model(WINDOW, records, labels, recipe)


def build_onnx(recipe: Mapping[str, Any] | None = None) -> bytes:
    """The artifact of one version: `recipe` is its model.yaml `build` block (default: the first version's)."""
    return to_onnx(
        train(recipe_for(FOLDER, recipe)), graph_name=NAME, doc=f"{NAME}: fraud score over the last 32 transactions"
    )


def golden_vectors() -> dict[str, Any]:
    """Records (replayed in order through the window), their feature vectors and every version's expected scores."""
    records, _ = generate(GOLDEN_SEED, cards=3, tx_per_card=(12, 20))
    models = {version: train(recipe) for version, recipe in version_recipes(FOLDER / "model.yaml").items()}
    return golden_document(NAME, WINDOW, models, records)


if __name__ == "__main__":
    build_main(NAME, FOLDER, build_onnx, golden_vectors)
