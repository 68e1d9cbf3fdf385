"""What the region loop reports: Prometheus metrics on `/metrics`, OpenTelemetry spans (one per pass, zone and
stage), and structured (JSON) logs."""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, make_wsgi_app, start_http_server

from reconciler.app.reconcile.trust import TrustDecision
from reconciler.core.plan import ZoneResult, ZoneStatus

TRACER_NAME = "edgeops.reconciler"


class LoopMetrics:
    """One registry per loop (tests run several loops in one process)."""

    def __init__(self, region: str) -> None:
        self.region = region
        self.registry = CollectorRegistry()
        self.pass_duration = Histogram(
            "edgeops_reconcile_pass_duration_seconds",
            "Duration of one reconcile pass over the region's zones",
            ["region"],
            registry=self.registry,
            buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
        )
        self.applied = Counter(
            "edgeops_reconcile_objects_applied",
            "Objects created or configured",
            ["region", "zone"],
            registry=self.registry,
        )
        self.pruned = Counter(
            "edgeops_reconcile_objects_pruned", "Objects pruned", ["region", "zone"], registry=self.registry
        )
        self.drift = Counter(
            "edgeops_reconcile_drift",
            "Objects found changed in the cluster and healed",
            ["region", "zone"],
            registry=self.registry,
        )
        self.status = Gauge(
            "edgeops_zone_status",
            "1 for the zone's current status, 0 for the others",
            ["region", "zone", "status"],
            registry=self.registry,
        )
        self.revision = Gauge(
            "edgeops_zone_revision_info",
            "The revision last applied to the zone",
            ["region", "zone", "revision"],
            registry=self.registry,
        )
        self.leader = Gauge(
            "edgeops_reconcile_leader",
            "1 while this replica holds the region's Lease",
            ["region"],
            registry=self.registry,
        )
        self.stale = Gauge(
            "edgeops_reconcile_source_stale",
            "1 while the repository cannot be fetched (last good commit in use)",
            ["region"],
            registry=self.registry,
        )
        self.passes = Counter(
            "edgeops_reconcile_passes",
            "Region passes completed, by what started them (start, interval, nudge)",
            ["region", "trigger"],
            registry=self.registry,
        )
        self.nudges = Counter(
            "edgeops_reconcile_nudges",
            "Nudges received (fetch and pass now), by who sent them (webhook, canary, manual, other)",
            ["region", "source"],
            registry=self.registry,
        )
        self.unverified = Gauge(
            "edgeops_reconcile_unverified_tip",
            "1 while the branch tip is not applied because it is not signed by a trusted key",
            ["region"],
            registry=self.registry,
        )
        self.refused = Counter(
            "edgeops_reconcile_refused_commits",
            "Branch tips refused by commit verification, by reason (unsigned, bad-signature, untrusted-key)",
            ["region", "reason"],
            registry=self.registry,
        )
        self._revisions: dict[str, str] = {}
        self._refused_tip: str | None = None

    def record_refusal(self, refusal: TrustDecision | None) -> None:
        """The gauge follows the current tip; the counter counts each refused tip once."""
        self.unverified.labels(self.region).set(0 if refusal is None else 1)
        if refusal is not None and refusal.tip != self._refused_tip:
            self.refused.labels(self.region, refusal.reason.value).inc()
        self._refused_tip = None if refusal is None else refusal.tip

    def record(self, result: ZoneResult) -> None:
        labels = (self.region, result.zone)
        self.applied.labels(*labels).inc(result.applied)
        self.pruned.labels(*labels).inc(result.pruned)
        self.drift.labels(*labels).inc(result.drift)
        for status in ZoneStatus:
            self.status.labels(*labels, status.value).set(1 if status is result.status else 0)
        previous = self._revisions.get(result.zone)
        if result.revision and previous != result.revision:
            if previous is not None:
                self.revision.remove(*labels, previous)
            self.revision.labels(*labels, result.revision).set(1)
            self._revisions[result.zone] = result.revision

    def serve(self, port: int, host: str = "127.0.0.1") -> Any:
        """Start the `/metrics` server; returns the server (stop it with `.shutdown()` then `.server_close()`)."""
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        return server


class Spans:
    """Spans from `provider`, or from the global tracer provider (a no-op unless the process set one up)."""

    def __init__(self, provider: Any = None) -> None:
        from opentelemetry import trace

        self._tracer = trace.get_tracer(TRACER_NAME, tracer_provider=provider)

    def span(self, name: str, **attributes: str | int) -> AbstractContextManager[object]:
        return self._tracer.start_as_current_span(name, attributes=attributes)

    @contextlib.contextmanager
    def zone(self, region: str, zone: str, revision: str | None) -> Iterator[object]:
        attributes = {"edgeops.region": region, "edgeops.zone": zone, "edgeops.revision": revision or ""}
        with self.span("reconcile zone", **attributes) as current:
            yield current


class PassSpans:
    """A region pass watched as spans (a `regionpass.PassObserver`): `reconcile zone` per zone, `stage <name>`
    inside it per stage."""

    def __init__(self, spans: Spans, region: str) -> None:
        self._spans = spans
        self._region = region

    def zone(self, zone: str, revision: str) -> AbstractContextManager[object]:
        return self._spans.zone(self._region, zone, revision)

    def stage(self, zone: str, stage: str) -> AbstractContextManager[object]:
        return self._spans.span(f"stage {stage}", **{"edgeops.region": self._region, "edgeops.zone": zone})


def configure_tracing(service_name: str = "edgeops-reconciler") -> Any:
    """Install an OTLP/HTTP exporter when the standard variables name an endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT`
    or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`); returns the provider to shut down, or None when tracing is off."""
    import os

    if os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return None
    if not (os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")):
        return None
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return provider


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and every `extra=` field."""

    _STANDARD = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in self._STANDARD})
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, sort_keys=True)


def configure_json_logs(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("edgeops")
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    """A WSGI server answering each request in its own thread (a slow page never holds up /metrics)."""


def serve_page(
    registry: CollectorRegistry, page: Callable[[], str], port: int, host: str = "127.0.0.1"
) -> ThreadingWSGIServer:
    """`/metrics` (as `LoopMetrics.serve`) and, beside it, a read-only HTML page on `/` built by `page()` on every
    request. GET and HEAD only: nothing served here changes anything. Stop it with `.shutdown()` then
    `.server_close()`; `server.server_address` has the port when `port` was 0."""
    metrics_app = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "/")
        if method not in ("GET", "HEAD"):
            start_response("405 Method Not Allowed", [("Allow", "GET, HEAD"), ("Content-Type", "text/plain")])
            return [b"read-only\n"]
        if path == "/metrics":
            return metrics_app(environ, start_response)  # type: ignore[no-any-return]
        if path not in ("/", "/index.html"):
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found\n"]
        try:
            body = page().encode()
        except Exception:
            logging.getLogger("edgeops.page").exception("fleet page failed")
            start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
            return [b"the page could not be rendered; see the logs\n"]
        start_response(
            "200 OK",
            [
                ("Content-Type", "text/html; charset=utf-8"),
                ("Cache-Control", "no-store"),
                ("X-Content-Type-Options", "nosniff"),
                ("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'"),
            ],
        )
        return [body]

    class _Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

    class _Server(ThreadingWSGIServer):
        daemon_threads = True

    server = make_server(host, port, app, server_class=_Server, handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, name="edgeops-page", daemon=True).start()
    return server
