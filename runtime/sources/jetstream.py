"""JetStream source: a durable pull consumer feeding one deployment's pipeline.

Exactly-once effect, in four rules:
1. A result (or dead letter) is published with `Nats-Msg-Id = <deployment>:<input id>`, where the input id is
   the input's own `Nats-Msg-Id` or `<stream>:<sequence>`; JetStream drops a second copy inside the result
   stream's duplicate window, so a redelivery never produces a second result.
2. An input is acked only after its result is acknowledged by JetStream *and* the window change it caused is
   in a DuckDB checkpoint (`runtime.checkpoint.Checkpointer`); until then a crash means redelivery, never loss.
3. On start, before fetching, the unacknowledged tail of the consumer (ack floor .. last delivered) is read
   straight from the stream in sequence order and re-applied; when the windows came from the changelog
   (`runtime.changelog`) rather than the local file, the replay starts at the changelog's mark instead, which may
   be below the ack floor. Windows are idempotent per sequence (`runtime.store.windows.Window`), so this rebuilds
   exactly the windows an uninterrupted run would hold before any newer message is scored.
4. The result stream forgets a `Nats-Msg-Id` after its duplicate window (2 minutes), and a runtime may be down for
   longer. So before replaying, the source reads the ids of this deployment's results and dead letters published
   since the first replayed input (`answered_ids`): a replayed or redelivered input that already has one is
   applied to its window and acked, never published again. Inputs at or below the ack floor are answered by rule 2.

Transient is not terminal: nothing here NAKs. A model outage holds the batch and retries it
(`runtime.sources.scoring`); a publish or checkpoint that fails is retried with the acks held back. Every message
held longer than a third of the consumer's `ack_wait` gets an `in progress` ack, so JetStream neither redelivers it
nor counts a delivery while the runtime is still working on it; only a crash or restart does.

One runtime process owns a durable consumer (two processes on one durable would interleave windows); a deployment
scales out with one durable per partition of its input (`runtime.config.PartitionsConfig`, `runtime.service.units`).
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import time
from collections.abc import Callable
from typing import Any

from runtime.pipeline import (
    SENSOR_TS_HEADER,
    DeploymentPipeline,
    Incoming,
    Outgoing,
    input_id,
    parse_sensor_ts,
    parse_traceparent,
    subject_key,
)
from runtime.publish import Publisher
from runtime.sources.protocol import Settle, SettleLater
from runtime.sources.pull import PullPump
from runtime.sources.scoring import score_until_available

log = logging.getLogger("edgeops.runtime.nats")

MAX_RECOVERY = 100_000


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS wildcard match: `*` is one token, a trailing `>` one or more."""
    p, s = pattern.split("."), subject.split(".")
    for i, part in enumerate(p):
        if part == ">":
            return len(s) > i
        if i >= len(s) or (part != "*" and part != s[i]):
            return False
    return len(p) == len(s)


def ack_reply_fields(msg: Any) -> tuple[str, int, float]:
    """(stream, stream sequence, stream time in unix s) from a JetStream message's ack subject.

    `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ns>.<pending>`, or with `<domain>.<account hash>`
    after `ACK` (and a token at the end); parsed by hand because the client's metadata object costs more than
    the rest of our per-message work. Anything else falls back to the client's parser."""
    tokens = (msg.reply or "").split(".")
    if tokens[:2] == ["$JS", "ACK"]:
        if len(tokens) == 9:
            return tokens[2], int(tokens[5]), int(tokens[7]) / 1e9
        if len(tokens) >= 11:
            return tokens[4], int(tokens[7]), int(tokens[9]) / 1e9
    meta = msg.metadata
    return meta.stream, meta.sequence.stream, meta.timestamp.timestamp()


async def answered_ids(js: Any, subjects: tuple[str, ...], prefix: str, since: float) -> set[str]:
    """The `Nats-Msg-Id`s starting with `prefix` of the messages stored on `subjects` since `since` (unix s, less a
    second for clock steps): read with a headers-only ephemeral consumer per subject, from the stream holding it."""
    from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

    start = datetime.datetime.fromtimestamp(since - 1.0, datetime.UTC)
    found: set[str] = set()
    for subject in dict.fromkeys(subjects):
        stream = await js.find_stream_name_by_subject(subject)
        consumer = ConsumerConfig(
            deliver_policy=DeliverPolicy.BY_START_TIME, opt_start_time=start,
            ack_policy=AckPolicy.NONE, headers_only=True, inactive_threshold=30.0,
        )  # fmt: skip
        psub = await js.pull_subscribe(subject, stream=stream, config=consumer)
        try:
            pending = (await psub.consumer_info()).num_pending
            while pending > 0:
                for msg in await psub.fetch(min(pending, 1000), timeout=5):
                    pending = msg.metadata.num_pending
                    msg_id = (msg.headers or {}).get("Nats-Msg-Id", "")
                    if msg_id.startswith(prefix):
                        found.add(msg_id)
        finally:
            await psub.unsubscribe()
    return found


class JetStreamSource:
    def __init__(
        self,
        nc: Any,
        pipeline: DeploymentPipeline,
        publisher: Publisher,
        settle_later: SettleLater,
        stopping: asyncio.Event,
        *,
        max_inflight: int = 4,
        replay_from: int | None = None,
        may_fetch: Callable[[], bool] = lambda: True,
    ) -> None:
        self.nc = nc  # records arrive through a `PullPump` on it
        self.js = nc.jetstream()  # control only: consumer info, the unacked tail, answered ids
        self.pipeline = pipeline
        self.publisher = publisher
        self.settle_later = settle_later
        self.stopping = stopping
        self.inflight = asyncio.Semaphore(max_inflight)
        self.tasks: set[asyncio.Task[None]] = set()
        self.partitioned = pipeline.config.partitions is not None  # the subject names the key: checked
        self.ready = False  # the consumer is bound and its unacked tail re-applied
        # Delivered and not acked yet: stream sequence -> (message, when it was delivered or last marked in progress)
        self.unsettled: dict[int, tuple[Any, float]] = {}
        self.progress_every_s = 10.0  # a third of the consumer's ack_wait, read at start
        self.pump: PullPump | None = None
        self.may_fetch = may_fetch  # a partition's lease (`runtime.lease`): a fenced holder fetches nothing more
        self.replay_from = replay_from  # the changelog's mark, when the windows were restored from it
        # Result ids published before this start (rule 4), and inputs at or below this sequence are answered.
        self.answered: set[str] = set()
        self.answered_below = 0

    async def run(self) -> None:
        await self._wait_for_consumer()
        await self._recover_tail(self.pipeline.config.subjects.stream, self.pipeline.config.subjects.durable)
        self.ready = True
        keep_alive = asyncio.create_task(self._keep_alive())
        try:
            await self._consume()
        finally:
            keep_alive.cancel()

    async def _consume(self) -> None:
        """Score what the pump delivers until stopped; then take what the open pull requests still bring."""
        batching = self.pipeline.config.batching
        subjects = self.pipeline.config.subjects
        pump = self.pump = PullPump(self.nc, subjects.stream, subjects.durable, batch=batching.max_batch_size)
        await pump.open()
        try:
            while True:
                if not self.may_fetch():  # fenced: another process owns the partition now
                    await pump.abandon()
                    break
                if self.stopping.is_set():
                    pump.close()
                    if not pump.draining:
                        break
                msgs = await pump.take(batching.max_batch_size, 0.1 if pump.closing else 0.5)
                if not msgs:
                    continue
                if len(msgs) * 2 >= batching.max_batch_size and batching.max_latency_ms > 0:
                    msgs += await pump.linger(batching.max_batch_size - len(msgs), batching.max_latency_ms / 1000)
                await self._dispatch([self._incoming(m) for m in msgs])
        finally:
            await pump.unsubscribe()
        await self.drain()

    async def _wait_for_consumer(self) -> None:
        subjects = self.pipeline.config.subjects
        delay = 0.2
        while True:
            try:
                await self.js.consumer_info(subjects.stream, subjects.durable)
                return
            except Exception as exc:  # the reconciler may not have created the consumer yet
                log.warning("consumer %s/%s not available (%r); retrying", subjects.stream, subjects.durable, exc)
                if self.stopping.is_set():
                    raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _recover_tail(self, stream: str, durable: str) -> None:
        info = await self.js.consumer_info(stream, durable)
        self.progress_every_s = max((info.config.ack_wait or 30.0) / 3, 0.05)
        floor = info.ack_floor.stream_seq
        first, last = floor + 1, info.delivered.stream_seq
        if self.replay_from is not None:
            first = min(first, max(self.replay_from, 1))
        if last < first:
            return
        if last - first > MAX_RECOVERY:
            log.warning("recovery: %d unacked messages, replaying only the last %d", last - first, MAX_RECOVERY)
            first = last - MAX_RECOVERY
        self.answered_below = floor + 1
        filters = info.config.filter_subjects or ([info.config.filter_subject] if info.config.filter_subject else [])
        single = filters[0] if len(filters) == 1 else None
        batch: list[Incoming] = []
        seq = first
        while seq <= last:
            try:
                raw = await self.js.get_msg(stream, seq, subject=single, next=True)
            except Exception:  # nothing further (deleted, or beyond the end)
                break
            if raw.seq > last:
                break
            if seq == first and raw.time is not None:
                config = self.pipeline.config
                subjects = (self.pipeline.result_subject, config.subjects.dead_letter)
                self.answered = await answered_ids(self.js, subjects, f"{config.deployment_id}:", raw.time.timestamp())
            seq = raw.seq + 1
            if filters and not any(subject_matches(f, raw.subject) for f in filters):
                continue
            batch.append(self._incoming_raw(stream, raw))
            if len(batch) >= self.pipeline.config.batching.max_batch_size:
                await self._dispatch(batch)
                batch = []
        if batch:
            await self._dispatch(batch)
        await self.drain()
        log.info("recovery: re-applied stream %s sequences %d..%d before consuming (%d already answered)",
                 stream, first, last, len(self.answered))  # fmt: skip

    def _is_answered(self, item: Outgoing) -> bool:
        seq = item.incoming.seq
        return (seq is not None and seq < self.answered_below) or item.headers["Nats-Msg-Id"] in self.answered

    def _incoming(self, msg: Any) -> Incoming:
        stream, seq, stream_ts = ack_reply_fields(msg)
        headers = msg.headers or {}
        return Incoming(
            payload=msg.data,
            seq=seq,
            input_id=input_id(headers.get("Nats-Msg-Id"), f"{stream}:{seq}"),
            source=msg.subject,
            stream_ts=stream_ts,
            sensor_ts=parse_sensor_ts(headers.get(SENSOR_TS_HEADER)),
            traceparent=parse_traceparent(headers.get("traceparent")),
            subject_key=subject_key(msg.subject) if self.partitioned else None,
            settle=self._held(msg, seq),
        )

    def _incoming_raw(self, stream: str, raw: Any) -> Incoming:
        headers = raw.headers or {}
        sensor_ts = parse_sensor_ts(headers.get(SENSOR_TS_HEADER))
        return Incoming(
            payload=raw.data or b"",
            seq=raw.seq,
            input_id=input_id(headers.get("Nats-Msg-Id"), f"{stream}:{raw.seq}"),
            source=raw.subject,
            stream_ts=sensor_ts or time.time(),
            sensor_ts=sensor_ts,
            traceparent=parse_traceparent(headers.get("traceparent")),
            subject_key=subject_key(raw.subject) if self.partitioned else None,
            settle=None,  # read by sequence, not delivered: the redelivery that follows is acked
        )

    async def _dispatch(self, batch: list[Incoming]) -> None:
        if not batch:
            return
        outgoing = await score_until_available(self.pipeline, self.pipeline.featurise(batch), self.stopping)
        if outgoing is None:  # stopping during a model outage: unacked, so redelivered after the restart
            return
        await self.inflight.acquire()
        start_ns = time.time_ns()
        send = [o for o in outgoing if not self._is_answered(o)] if self.answered_below else outgoing
        futures = await self.publisher.send(send)  # now, not when a task gets scheduled: latency
        task = asyncio.create_task(self._complete(batch, outgoing, send, futures, start_ns))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _complete(
        self, batch: list[Incoming], outgoing: list[Outgoing], send: list[Outgoing],
        futures: list[asyncio.Future[Any]], start_ns: int,
    ) -> None:  # fmt: skip
        try:
            if await self.publisher.confirm(send, futures):
                self.pipeline.published(outgoing, start_ns)
                for message in batch:
                    if message.settle is not None:
                        self.settle_later(message.settle)
        finally:
            self.inflight.release()

    def _held(self, msg: Any, seq: int) -> Settle:
        """Track a delivered message until it is acked (its `Settle`), for `_keep_alive`."""
        self.unsettled[seq] = (msg, time.monotonic())

        async def settle() -> None:
            await msg.ack()
            held = self.unsettled.get(seq)
            if held is not None and held[0] is msg:  # not a newer delivery of the same sequence
                del self.unsettled[seq]

        return settle

    async def _keep_alive(self) -> None:
        """Mark messages held longer than `progress_every_s` in progress, those being scored and those still waiting
        in the pump: a model outage, a failing publish or checkpoint is not a reason for JetStream to redeliver
        (and count a delivery)."""
        while not self.stopping.is_set():
            await asyncio.sleep(self.progress_every_s)
            now = time.monotonic()
            waiting = self.pump.waiting_since(now - self.progress_every_s, now) if self.pump is not None else []
            for msg in waiting:
                try:
                    await msg.in_progress()
                except Exception as exc:  # NATS is away: what it redelivers later is deduplicated
                    log.debug("in progress: %r", exc)
                    break
            for seq, (msg, since) in list(self.unsettled.items()):
                if now - since < self.progress_every_s or seq not in self.unsettled:  # recent, or acked meanwhile
                    continue
                try:
                    await msg.in_progress()
                except Exception as exc:  # NATS is away: it redelivers later, and the result is deduplicated
                    log.debug("in progress: %r", exc)
                    break
                self.unsettled[seq] = (msg, now)

    async def drain(self) -> None:
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)
