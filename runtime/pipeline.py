"""One deployment's batch step: decode -> window -> features -> inference -> outgoing messages.

No I/O here: sources (`runtime.sources`: JetStream, MQTT, synthetic traffic) hand in `Incoming`
messages and publish the `Outgoing` ones this returns, so every source goes through the same code.

A malformed message becomes a dead letter with a reason code (see `runtime.features.decode_record`,
`record_key`, `record_values` and the limits in `runtime.limits`) and a detail naming the field, before it
touches a window; it never stops the batch. On a partitioned input the subject's last token names the key
that chose the partition, and a record whose window key differs is dead-lettered as `key_subject_mismatch`: in
a window it would split its key's window between two partitions. A valid record whose score is not a finite
number (a model that overflows) is dead-lettered as `non_finite_score` after it joined its window, like any
scored record. Shadow deployments publish results only to the shadow subject.
"""

from __future__ import annotations

import hashlib
import math
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from json.encoder import encode_basestring_ascii

import numpy as np

from runtime.config import ModelDeploymentConfig, Track
from runtime.features import RecordError, decode_record, feature_vector, record_key, record_values
from runtime.limits import MAX_INPUT_ID_CHARS, MAX_SENSOR_TS, UNPRINTABLE
from runtime.metrics import Metrics, observe_each
from runtime.session import LoadedModel
from runtime.store import DeploymentWindows
from runtime.tracing import MessageTrace, end_message, record_stage, start_message, tracing_enabled

SENSOR_TS_HEADER = "Edgeops-Sensor-Ts"  # unix seconds (decimal) when the sensor captured the record
REASON_HEADER = "Edgeops-Dead-Letter-Reason"
DETAIL_HEADER = "Edgeops-Dead-Letter-Detail"
SOURCE_HEADER = "Edgeops-Source"


@dataclass
class Incoming:
    payload: bytes
    seq: int | None  # orders the record within its window (stream sequence); None appends
    input_id: str  # stable across redeliveries: the result's Nats-Msg-Id derives from it
    source: str  # subject/topic it came from
    stream_ts: float  # unix s when the source stored/received it
    sensor_ts: float | None = None
    traceparent: str | None = None
    # The key the subject names (its last token) on a partitioned input, where the subject chose the partition:
    # a record whose window key differs would split that key's window between partitions (`subject_key`).
    subject_key: str | None = None
    settle: Callable[[], Awaitable[None]] | None = None  # ack, once the result and window are durable
    fetched_ns: int = field(default_factory=time.time_ns)


@dataclass
class Outgoing:
    incoming: Incoming
    subject: str
    payload: bytes
    headers: dict[str, str]
    dead_letter_reason: str | None
    trace: MessageTrace


@dataclass
class Featurised:
    """A batch past the window step: its dead letters so far, and the vectors the model has yet to score."""

    batch: list[Incoming]
    traces: list[MessageTrace]
    scored: list[tuple[int, str]] = field(default_factory=list)  # (index in batch, window key)
    vectors: list[list[float]] = field(default_factory=list)
    dead: list[Outgoing] = field(default_factory=list)


class ModelUnavailableError(RuntimeError):
    """Inference failed for a whole batch: transient, so the source scores the same `Featurised` batch again
    (`runtime.sources.scoring`) rather than dead-lettering good input or giving it back to the broker."""


class DeploymentPipeline:
    def __init__(
        self, config: ModelDeploymentConfig, model: LoadedModel, windows: DeploymentWindows, metrics: Metrics, zone: str
    ) -> None:
        self.config = config
        self.windows = windows
        self.metrics = metrics
        self.zone = zone
        self.model = model
        self.swap(model)

    def swap(self, model: LoadedModel) -> None:
        """Serve a new model from the next batch on; windows and subjects stay."""
        old_labels = getattr(self, "labels", None)
        self.model = model
        self.labels = (self.zone, self.config.name, model.version, self.config.track.value, model.provider)
        m = self.metrics
        if old_labels is not None:
            m.model_info.labels(*old_labels, getattr(self, "digest", "")).set(0)
        self.digest = model.digest
        m.model_info.labels(*self.labels, model.digest).set(1)
        self._e2e = m.e2e.labels(*self.labels)
        self._stage = {s: m.stage.labels(*self.labels, s) for s in ("queue_wait", "features", "inference", "publish")}
        self._requests = m.requests.labels(*self.labels)
        self._results = m.results.labels(*self.labels)
        self._batch = m.batch_size.labels(*self.labels)
        self._result_tail = result_tail(self.config.name, model.version, self.config.track.value)

    @property
    def result_subject(self) -> str:
        s = self.config.subjects
        return s.shadow if self.config.track is Track.SHADOW else s.result

    def process(self, batch: list[Incoming]) -> list[Outgoing]:
        """Featurise and score a batch; raises ModelUnavailableError if inference fails."""
        return self.score(self.featurise(batch))

    def featurise(self, batch: list[Incoming]) -> Featurised:
        """The window step: each record joins its window (or becomes a dead letter) exactly once."""
        cfg = self.config
        spec = cfg.window
        start_ns = time.time_ns()
        self._requests.inc(len(batch))
        self._batch.observe(len(batch))
        done = Featurised(batch, [self._start_trace(m, start_ns) for m in batch])
        start = start_ns / 1e9
        observe_each(self._stage["queue_wait"], [max(start - m.stream_ts, 0.0) for m in batch])
        for i, message in enumerate(batch):
            try:
                record = decode_record(message.payload, cfg.max_payload_bytes)
                key = record_key(spec, record)
                if message.subject_key is not None and key != message.subject_key:
                    raise RecordError(
                        "key_subject_mismatch",
                        f"window key {spec.key!r} is {key!a} but the subject names {message.subject_key!a}: "
                        "on a partitioned input the key's value is the subject's last token",
                    )
                values = record_values(spec, record)
                if message.seq is not None:  # until `published`: a redelivery must see this same window
                    self.windows.hold(message.seq)
                rows = self.windows.apply(key, message.seq, values)
                done.vectors.append(feature_vector(spec, rows))
                done.scored.append((i, key))
            except RecordError as err:
                done.dead.append(self._dead_letter(message, done.traces[i], err))
        features_ns = time.time_ns()
        # Stage histograms are observed once per batch (every message of a batch spends the same time in a
        # stage); queue wait and end-to-end are per message.
        self._stage["features"].observe((features_ns - start_ns) / 1e9)
        if tracing_enabled():
            for i, _ in done.scored:
                record_stage(done.traces[i], "features", start_ns, features_ns)
        return done

    def score(self, done: Featurised) -> list[Outgoing]:
        """The batch's results and dead letters; raises ModelUnavailableError if inference fails, and may then be
        called again (with whatever model is served by then) without touching the windows twice."""
        if not done.scored:
            return done.dead
        start_ns = time.time_ns()
        try:
            scores = self.model.run(np.asarray(done.vectors, dtype=np.float32))
        except Exception as exc:
            self.metrics.errors.labels(*self.labels, "inference").inc(len(done.scored))
            raise ModelUnavailableError(str(exc)) from exc
        inference_ns = time.time_ns()
        self._stage["inference"].observe((inference_ns - start_ns) / 1e9)
        out = list(done.dead)
        batch, traces = done.batch, done.traces
        traced = tracing_enabled()
        id_prefix, subject, tail = f"{self.config.deployment_id}:", self.result_subject, self._result_tail
        for (i, key), score in zip(done.scored, scores.tolist(), strict=True):
            message, trace = batch[i], traces[i]
            if traced:
                record_stage(trace, "inference", start_ns, inference_ns)
            if math.isfinite(score):
                result_id = id_prefix + message.input_id
                payload = result_payload(result_id, message.input_id, key, score, tail)
                out.append(Outgoing(message, subject, payload, self._headers(message, trace, result_id), None, trace))
            else:
                unscored = RecordError("non_finite_score", f"the model scored {score!r}")
                out.append(self._dead_letter(message, trace, unscored))
        return out

    def _start_trace(self, message: Incoming, start_ns: int) -> MessageTrace:
        if not tracing_enabled():  # the producer's traceparent passes through, without a span's attributes
            return MessageTrace(None, message.traceparent)
        return start_message(
            message.traceparent, "edgeops.infer", message.fetched_ns,
            {"edgeops.model": self.config.name, "edgeops.track": self.config.track.value,
             "edgeops.input_id": message.input_id},
        )  # fmt: skip

    def _headers(self, message: Incoming, trace: MessageTrace, msg_id: str) -> dict[str, str]:
        headers = {"Nats-Msg-Id": msg_id, SOURCE_HEADER: _header_safe(message.source)}
        if trace.traceparent:
            headers["traceparent"] = trace.traceparent
        if message.sensor_ts is not None:
            headers[SENSOR_TS_HEADER] = repr(message.sensor_ts)
        return headers

    def _dead_letter(self, message: Incoming, trace: MessageTrace, err: RecordError) -> Outgoing:
        self.metrics.errors.labels(*self.labels, "malformed").inc()
        headers = self._headers(message, trace, f"{self.config.deployment_id}:dlq:{message.input_id}")
        headers[REASON_HEADER] = err.reason
        headers[DETAIL_HEADER] = _header_safe(err.detail[:512])
        return Outgoing(message, self.config.subjects.dead_letter, message.payload, headers, err.reason, trace)

    def published(self, sent: list[Outgoing], publish_start_ns: int) -> None:
        """Account for outgoing messages that JetStream acknowledged (publish stage, e2e, counters) and release
        their records' windows (a redelivery's result is now a duplicate JetStream drops)."""
        now_ns = time.time_ns()
        now = now_ns / 1e9
        self._stage["publish"].observe((now_ns - publish_start_ns) / 1e9)
        traced = tracing_enabled()
        e2e: list[float] = []
        for item in sent:
            message = item.incoming
            if message.seq is not None:
                self.windows.release(message.seq)
            if traced:
                record_stage(item.trace, "publish", publish_start_ns, now_ns)
            if item.dead_letter_reason is not None:
                self.metrics.dead_letters.labels(*self.labels, item.dead_letter_reason).inc()
            else:
                origin = message.sensor_ts if message.sensor_ts is not None else message.stream_ts
                e2e.append(max(now - origin, 0.0))
            if traced:
                end_message(item.trace, now_ns)
        if e2e:
            self._results.inc(len(e2e))
            observe_each(self._e2e, e2e)


def result_tail(model: str, version: str, track: str) -> str:
    """The end of every result payload of one served model (see `result_payload`), built once per model."""
    return (
        f',"model":{encode_basestring_ascii(model)},"version":{encode_basestring_ascii(version)},'
        f'"track":{encode_basestring_ascii(track)}}}'
    )


def result_payload(result_id: str, input_id: str, key: str, score: float, tail: str) -> bytes:
    """A result's JSON, byte for byte what `json.dumps(body, separators=(",", ":"), allow_nan=False)` makes of
    {id, input_id, key, score, model, version, track}: json's own string escaper (ASCII output, as
    `ensure_ascii` defaults to) and `float.__repr__` for the score, which is finite here (a non-finite one was
    dead-lettered), with the constant `result_tail` spliced on rather than encoded per message."""
    return (
        f'{{"id":{encode_basestring_ascii(result_id)},"input_id":{encode_basestring_ascii(input_id)},'
        f'"key":{encode_basestring_ascii(key)},"score":{float.__repr__(score)}{tail}'
    ).encode()


def _header_safe(value: str) -> str:
    """A header value cannot carry CR/LF (NATS frames headers by line) nor a lone surrogate (not UTF-8)."""
    return UNPRINTABLE.sub("?", value)


def subject_key(subject: str) -> str:
    """The key a partitioned input's subject names: its last token (`<input>.<route>.<partition>.<key>`)."""
    return subject.rsplit(".", 1)[-1]


def input_id(given: str | None, fallback: str) -> str:
    """The input's id: the producer's own (`Nats-Msg-Id`, MQTT `msg-id`) when it is printable and at most
    MAX_INPUT_ID_CHARS long, a hash of it when not (still stable across redeliveries), else `fallback`."""
    if not given:
        return fallback
    if len(given) <= MAX_INPUT_ID_CHARS and UNPRINTABLE.search(given) is None:
        return given
    return "sha256:" + hashlib.sha256(given.encode("utf-8", "surrogatepass")).hexdigest()[:32]


_TRACEPARENT = re.compile(r"[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}")


def parse_traceparent(value: str | None) -> str | None:
    """A W3C `traceparent` header, or None for anything else (it is passed on to results as it came)."""
    return value if value is not None and _TRACEPARENT.fullmatch(value) else None


def parse_sensor_ts(value: str | None) -> float | None:
    """`Edgeops-Sensor-Ts` in unix seconds, or None when absent, not a number or not a time before year 10000."""
    if not value or len(value) > 64:
        return None
    try:
        ts = float(value)
    except ValueError:
        return None
    return ts if 0 < ts <= MAX_SENSOR_TS else None
