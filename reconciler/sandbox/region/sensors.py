"""Sensor generators: records for every model of every zone, published to the model's input subject at a modest
rate as the NATS `sensor` user, with the fields the model's window reads.

With Jaeger running, every record is a `sensor.publish` span of the service `edgeops-sensors` whose W3C
`traceparent` travels in the message headers: the runtime continues that trace (inference and its stages) and
puts it on the result, so one trace shows sensor → inference → result.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from contextlib import suppress
from typing import Any

from reconciler.core.nats import naming
from reconciler.core.spec import FleetSpec, Model, Zone
from reconciler.shells.nats import NatsClient, NatsEndpoint


def sensor_record(model: Model, i: int, rng: random.Random, *, key: str | None = None) -> dict[str, object]:
    """A plausible record for the window: its key (`key`, the assignment's window key; default the model's) plus
    every field its features read."""
    fields = sorted({f.field for f in model.spec.window.features if f.field and f.field != "ts"})
    record: dict[str, object] = {key or model.spec.window.key: f"key-{i % 50}", "ts": time.time()}
    for name in fields:
        record[name] = round(rng.uniform(0.0, 100.0), 3) if "mismatch" not in name else float(rng.random() < 0.05)
    return record


class _Tracer:
    """OTLP/HTTP spans to `endpoint`, or nothing when it is None."""

    def __init__(self, endpoint: str | None) -> None:
        self._provider: Any = None
        self._tracer: Any = None
        if endpoint is None:
            return
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        self._provider = TracerProvider(resource=Resource.create({"service.name": "edgeops-sensors"}))
        self._provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces")))
        self._tracer = self._provider.get_tracer("edgeops.sandbox.sensors")

    def publish_span(self, attributes: dict[str, str]) -> tuple[Any, str | None]:
        """A finished-on-`end` producer span and the traceparent that carries it (None when tracing is off)."""
        if self._tracer is None:
            return None, None
        from opentelemetry import trace
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        span = self._tracer.start_span("sensor.publish", kind=trace.SpanKind.PRODUCER, attributes=attributes)
        carrier: dict[str, str] = {}
        TraceContextTextMapPropagator().inject(carrier, context=trace.set_span_in_context(span))
        return span, carrier.get("traceparent")

    def close(self) -> None:
        if self._provider is not None:
            self._provider.shutdown()


def run_sensors(
    spec: FleetSpec,
    *,
    zones: list[Zone],
    urls: dict[str, str],
    password: str,
    rate: float,
    stop: threading.Event,
    otlp: str | None,
) -> None:
    """Publish `rate` records a second per model and zone until `stop` is set."""
    tracer = _Tracer(otlp)
    try:
        asyncio.run(_publish(spec, zones=zones, urls=urls, password=password, rate=rate, stop=stop, tracer=tracer))
    finally:
        tracer.close()


async def _publish(
    spec: FleetSpec,
    *,
    zones: list[Zone],
    urls: dict[str, str],
    password: str,
    rate: float,
    stop: threading.Event,
    tracer: _Tracer,
) -> None:
    rng = random.Random(7)  # noqa: S311 - sample data, not security
    clients = {
        zone.name: await NatsClient.connect(NatsEndpoint(urls[zone.name], user=naming.SENSOR_USER, password=password))
        for zone in zones
    }
    i = 0
    try:
        while not stop.is_set():
            for zone in zones:
                for assignment in zone.spec.models:
                    model = spec.models[assignment.model]
                    key = assignment.window_key or model.spec.window.key
                    record = sensor_record(model, i, rng, key=key)
                    subject = naming.sensor_subject(
                        assignment.input, str(record[key]), partitioned=assignment.partitioned
                    )
                    headers = {"Nats-Msg-Id": f"sandbox-{zone.name}-{i}", "Edgeops-Sensor-Ts": f"{time.time():.6f}"}
                    span, traceparent = tracer.publish_span({"zone": zone.name, "subject": subject})
                    if traceparent:
                        headers["traceparent"] = traceparent
                    with suppress(Exception):  # a full stream or a restart: the next record tries again
                        await clients[zone.name].publish(subject, json.dumps(record).encode(), headers=headers)
                    if span is not None:
                        span.end()
            i += 1
            await asyncio.sleep(1.0 / rate)
    finally:
        for client in clients.values():
            with suppress(Exception):
                await client.drain()
