"""OpenTelemetry: continue the producer's W3C `traceparent` through the pipeline and onto the result.

Tracing is on when an OTLP endpoint is configured by the standard variables (`OTEL_EXPORTER_OTLP_ENDPOINT`
or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`; `OTEL_SDK_DISABLED=true` turns it off); the exporter, sampler and
resource read the other `OTEL_*` variables themselves. When it is off, the incoming `traceparent` is passed
through unchanged, so a downstream tracer still joins the producer's trace at no cost on the hot path.

Stage spans (features, inference, publish) are recorded after the fact with the measured batch timestamps:
one clock read per stage per batch, not per message.
"""

from __future__ import annotations

import os
from typing import Any


class _State:
    tracer: Any = None


_STATE = _State()


def setup_tracing(attributes: dict[str, str]) -> bool:
    """Install an OTLP/HTTP exporter if the environment asks for one; returns whether tracing is on."""
    if os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    if not (os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")):
        return False
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import OTELResourceDetector, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create(
        {"service.name": os.environ.get("OTEL_SERVICE_NAME", "edgeops-runtime"), **attributes}
    ).merge(OTELResourceDetector().detect())
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _STATE.tracer = trace.get_tracer("edgeops.runtime")
    return True


def shutdown_tracing() -> None:
    if _STATE.tracer is None:
        return
    from opentelemetry import trace

    provider = trace.get_tracer_provider()
    shutdown = getattr(provider, "shutdown", None)
    if callable(shutdown):
        shutdown()


def tracing_enabled() -> bool:
    """Whether spans are recorded: when not, the pipeline skips its per-message trace calls altogether."""
    return _STATE.tracer is not None


class MessageTrace:
    """One message's span; `traceparent` is what goes on the result."""

    __slots__ = ("span", "traceparent")

    def __init__(self, span: Any, traceparent: str | None) -> None:
        self.span = span
        self.traceparent = traceparent


def start_message(incoming: str | None, name: str, start_ns: int, attributes: dict[str, str]) -> MessageTrace:
    if _STATE.tracer is None:
        return MessageTrace(None, incoming)
    from opentelemetry import trace
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    propagator = TraceContextTextMapPropagator()
    parent = propagator.extract({"traceparent": incoming}) if incoming else None
    span = _STATE.tracer.start_span(
        name, context=parent, kind=trace.SpanKind.CONSUMER, start_time=start_ns, attributes=attributes
    )
    carrier: dict[str, str] = {}
    propagator.inject(carrier, context=trace.set_span_in_context(span))
    return MessageTrace(span, carrier.get("traceparent", incoming))


def record_stage(message: MessageTrace, stage: str, start_ns: int, end_ns: int) -> None:
    if message.span is None or _STATE.tracer is None:
        return
    from opentelemetry import trace

    child = _STATE.tracer.start_span(stage, context=trace.set_span_in_context(message.span), start_time=start_ns)
    child.end(end_time=end_ns)


def end_message(message: MessageTrace, end_ns: int, error: str | None = None) -> None:
    if message.span is None:
        return
    if error is not None:
        from opentelemetry.trace import Status, StatusCode

        message.span.set_status(Status(StatusCode.ERROR, error))
    message.span.end(end_time=end_ns)
