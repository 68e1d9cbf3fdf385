"""Scoring a featurised batch until the model answers: a model outage is transient, never terminal.

A model that fails (a broken version swapped in, an accelerator gone) fails whole batches of good records. The
source holds the batch and scores it again with backoff, with whatever model is served by then; it never gives
the messages back to the broker (a NAK uses up one delivery, and a long outage all of them) and never
dead-letters them. Meanwhile the source fetches nothing more, so an outage holds one batch in memory and the
broker keeps the rest; `runtime.sources.jetstream` keeps the held messages' ack timers reset (`in progress`), so
JetStream does not redeliver them either.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from runtime.pipeline import DeploymentPipeline, Featurised, ModelUnavailableError, Outgoing

log = logging.getLogger("edgeops.runtime")

RETRY_FIRST_S = 0.2
RETRY_MAX_S = 5.0
LOG_EVERY = 12  # failures between two log lines while an outage lasts (about a minute at RETRY_MAX_S)


async def score_until_available(
    pipeline: DeploymentPipeline, batch: Featurised, stopping: asyncio.Event
) -> list[Outgoing] | None:
    """The batch's results and dead letters, or None when the service stops first (its messages stay unacked
    and come back after the restart)."""
    delay = RETRY_FIRST_S
    failures = 0
    while True:
        try:
            out = pipeline.score(batch)
        except ModelUnavailableError as exc:
            if failures % LOG_EVERY == 0:
                log.error("%s: inference failed for a batch of %d (%s); holding it and retrying (failure %d)",
                          pipeline.config.deployment_id, len(batch.batch), exc, failures + 1)  # fmt: skip
            failures += 1
        else:
            if failures:
                log.info("%s: inference answers again after %d failures", pipeline.config.deployment_id, failures)
            return out
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), delay)
        if stopping.is_set():
            return None
        delay = min(delay * 2, RETRY_MAX_S)
