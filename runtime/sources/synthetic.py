"""Synthetic traffic for canary pre-analysis: score a blend of recent real records (replayed from the
feature store) and generated ones, at a fixed rate, without touching any window.

Real records are the newest rows of recently active keys of any deployment of the same model in this process
(typically the stable track); generated ones perturb such a row (each value times 1 + N(0, 0.1)), or are
standard normal draws while nothing has been seen yet. Results go to the shadow subject with the header
`Edgeops-Synthetic: real|generated`, never to production results, and are counted in
`edgeops_synthetic_total`; inference time goes to `edgeops_stage_seconds{stage="inference"}` as usual.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import math
import random
import time
from typing import Any

import numpy as np

from runtime.config import SyntheticTrafficConfig
from runtime.features import Row, feature_vector
from runtime.pipeline import DeploymentPipeline
from runtime.store import Window

log = logging.getLogger("edgeops.runtime.synthetic")

TICK_S = 0.02
RECENT_KEYS = 256


class SyntheticTraffic:
    def __init__(
        self, config: SyntheticTrafficConfig, pipeline: DeploymentPipeline, nc: Any,
        pipelines: dict[str, DeploymentPipeline], stopping: asyncio.Event,
    ) -> None:  # fmt: skip
        self.config = config
        self.pipeline = pipeline
        self.nc = nc
        self.pipelines = pipelines
        self.stopping = stopping
        self.rng = random.Random(config.seed)  # noqa: S311 - traffic shaping, not security
        self.counter = itertools.count()
        self.ready = True  # generates its own input

    def _recent_windows(self) -> list[Window]:
        name = self.pipeline.config.name
        found: list[Window] = []
        for pipeline in self.pipelines.values():
            if pipeline.config.name != name:
                continue
            for _, window in itertools.islice(pipeline.windows.recent(), RECENT_KEYS):
                if window.rows:
                    found.append(window)
        return found

    def draw(self) -> tuple[str, list[float]]:
        """One synthetic input: ('real' | 'generated', feature vector)."""
        spec = self.pipeline.config.window
        windows = self._recent_windows()
        if not windows:
            row: Row = tuple(self.rng.gauss(0.0, 1.0) for _ in spec.fields)
            return "generated", feature_vector(spec, [row])
        window = self.rng.choice(windows)
        if self.rng.random() < self.config.real_fraction:
            return "real", feature_vector(spec, window.current())  # the newest record, as it was scored
        base = window.rows[-1]
        row = tuple(v * (1.0 + self.rng.gauss(0.0, 0.1)) for v in base)
        return "generated", feature_vector(spec, window.peek(row))

    async def run(self) -> None:
        owed = 0.0
        last = time.monotonic()
        while not self.stopping.is_set():
            await asyncio.sleep(TICK_S)
            now = time.monotonic()
            owed += (now - last) * self.config.rate_per_s
            last = now
            count = min(int(owed), self.pipeline.config.batching.max_batch_size)
            owed -= count
            if count:
                await self._emit(count)

    async def _emit(self, count: int) -> None:
        pipeline = self.pipeline
        drawn = [self.draw() for _ in range(count)]
        start = time.perf_counter()
        try:
            scores = pipeline.model.run(np.asarray([v for _, v in drawn], dtype=np.float32))
        except Exception as exc:
            pipeline.metrics.errors.labels(*pipeline.labels, "inference").inc(count)
            log.error("synthetic inference failed: %s", exc)
            return
        inference_s = time.perf_counter() - start
        pipeline.metrics.stage.labels(*pipeline.labels, "inference").observe(inference_s)
        pipeline.metrics.synthetic.labels(*pipeline.labels).inc(count)
        cfg = pipeline.config
        for (kind, _), score in zip(drawn, scores.tolist(), strict=True):
            n = next(self.counter)
            body = {
                "id": f"{cfg.deployment_id}:synthetic:{n}",
                "score": score if math.isfinite(score) else None,  # JSON has no NaN
                "model": cfg.name,
                "version": pipeline.model.version,
                "track": cfg.track.value,
                "synthetic": kind,
            }
            await self.nc.publish(cfg.subjects.shadow, json.dumps(body).encode(), headers={"Edgeops-Synthetic": kind})
