"""The changelog: a deployment's windows in a JetStream stream that keeps the last message per subject, so that they
survive losing the pod's disk (the pattern of Kafka Streams' state stores); the local DuckDB file stays the fast path.

Layout under the deployment's `state.subject` S (`runtime.config.StateConfig`):

    S.k.<key as base64url>   {"s": [seq, ...], "v": [[value, ...], ...]}: the key's window; an empty body: evicted
    S.mark                   {"replay_from": M}

A flush (every `flush_interval_ms`, off the ack path) first takes the replay mark M
(`DeploymentWindows.replay_mark`: every record below it is applied and its result confirmed), then publishes the
current window of every key changed since the last flush, waits for every JetStream ack, and only then publishes M.
A restore reads the last message of every subject. Its windows hold every row below M, and possibly newer ones (a
key entry written after M): windows are idempotent per sequence, so the source re-applies the input from M on
(`runtime.sources.jetstream`) and the result is the windows of an uninterrupted run; only records without a result
are scored again. An entry for a key newer than M may lack rows that slid out of its window; the records that would
need them were confirmed by then, so they are re-applied without being scored.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any

from runtime.config import StateConfig
from runtime.store import DeploymentWindows, Window

log = logging.getLogger("edgeops.runtime.changelog")

PUBLISH_CHUNK = 512  # keys per wait for acks: bounds the client's pending publishes
YIELD_EVERY = 16  # keys encoded and handed over between two turns of the event loop: a flush never holds up a batch
RESTORE_FETCH = 1000


def key_token(key: str) -> str:
    """A subject token for any key: base64url without padding (letters, digits, `-`, `_`)."""
    return base64.urlsafe_b64encode(key.encode("utf-8", "surrogatepass")).rstrip(b"=").decode()


def token_key(token: str) -> str:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("utf-8", "surrogatepass")


class DeploymentChangelog:
    def __init__(
        self, js: Any, state: StateConfig, windows: DeploymentWindows, may_write: Callable[[], bool] = lambda: True
    ) -> None:
        self.js = js
        self.state = state
        self.windows = windows
        self.may_write = may_write  # a partition's lease (`runtime.lease`): a fenced holder writes nothing
        self._mark_written: int | None = None
        windows.changed = set()

    async def restore(self) -> int | None:
        """Fill the (empty) windows from the changelog; returns the replay mark, 1 when key entries exist but no
        mark was ever written (the first flush did not finish), None when the changelog holds nothing."""
        from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

        config = ConsumerConfig(
            deliver_policy=DeliverPolicy.LAST_PER_SUBJECT, ack_policy=AckPolicy.NONE, inactive_threshold=30.0
        )
        psub = await self.js.pull_subscribe(f"{self.state.subject}.>", stream=self.state.stream, config=config)
        mark: int | None = None
        restored: list[tuple[str, Window]] = []
        try:
            pending = (await psub.consumer_info()).num_pending
            while pending > 0:
                for msg in await psub.fetch(min(RESTORE_FETCH, pending), timeout=5):
                    pending = msg.metadata.num_pending
                    tail = msg.subject[len(self.state.subject) + 1 :]
                    if tail == "mark":
                        mark = int(json.loads(msg.data)["replay_from"])
                    elif tail.startswith("k.") and msg.data:
                        entry = json.loads(msg.data)
                        rows = [tuple(v) for v in entry["v"]]
                        restored.append((token_key(tail[2:]), Window(self.windows.size, list(entry["s"]), rows)))
        finally:
            await psub.unsubscribe()
        # Least recently active first, as a DuckDB restore orders them; the newest `max_keys` stay.
        restored.sort(key=lambda item: item[1].seqs[-1] if item[1].seqs else 0)
        for key, window in restored[-self.windows.max_keys :]:
            self.windows.windows[key] = window
            if window.seqs:
                self.windows.newest = max(self.windows.newest, window.seqs[-1])
        if mark is None and not restored:
            log.info("%s: the changelog holds no windows yet", self.windows.deployment)
            return None
        if mark is None:  # the first flush did not finish: replay everything the input stream still holds
            mark = 1
        log.info("%s: %d windows restored from the changelog, replaying the input from sequence %d",
                 self.windows.deployment, len(restored), mark)  # fmt: skip
        return mark

    async def flush(self) -> None:
        """Publish every changed window, then the mark taken before them; on failure the keys stay changed."""
        if not self.may_write():
            return
        windows = self.windows
        mark = windows.replay_mark()
        changed, windows.changed = windows.changed or set(), set()
        keys = list(changed)
        try:
            for start in range(0, len(keys), PUBLISH_CHUNK):
                futures = []
                for i, key in enumerate(keys[start : start + PUBLISH_CHUNK]):
                    if i % YIELD_EVERY == YIELD_EVERY - 1:
                        await asyncio.sleep(0)
                    window = windows.windows.get(key)
                    body = b"" if window is None else _encode(window)
                    futures.append(await self.js.publish_async(f"{self.state.subject}.k.{key_token(key)}", body))
                await asyncio.gather(*futures)
            if (keys or mark != self._mark_written) and self.may_write():
                await self.js.publish(f"{self.state.subject}.mark", json.dumps({"replay_from": mark}).encode())
                self._mark_written = mark
        except Exception:
            windows.changed = changed | (windows.changed or set())
            raise

    async def run(self, stopping: asyncio.Event) -> None:
        """Flush every interval until stopped; the service flushes once more after its drain."""
        while not stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), self.state.flush_interval_ms / 1000)
            try:
                await self.flush()
            except Exception as exc:  # NATS away: the changed keys are kept for the next flush
                log.warning("%s: changelog flush failed (%r); retrying", self.windows.deployment, exc)


def _encode(window: Window) -> bytes:
    return json.dumps({"s": window.seqs, "v": window.rows}, separators=(",", ":"), allow_nan=False).encode()
