"""Trace context through `edgeops serve` (real nats-server; an OTLP/HTTP collector stand-in on loopback that
records what the exporter posts): with `OTEL_EXPORTER_OTLP_ENDPOINT` set, every result carries a `traceparent`
in the producer's trace with a new span id, and the exported spans (`edgeops.infer` with children `features`,
`inference`, `publish`) belong to that trace; without it, the producer's `traceparent` is passed through."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import nats
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.fixtures.edge_runtime import RuntimeProcess, build_example_model, deployment, runtime_config, setup_streams
from tests.fixtures.nats import NatsServer
from tests.integration.runtime.helpers import example_records, read_all, results_at_least, wait_for

pytestmark = pytest.mark.integration

MODEL = "fraud-scoring"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"


class Collector(ThreadingHTTPServer):
    def __init__(self) -> None:
        self.requests: list[ExportTraceServiceRequest] = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.path == "/v1/traces":
                    collector.requests.append(ExportTraceServiceRequest.FromString(body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: object) -> None:
                return

        super().__init__(("127.0.0.1", 0), Handler)

    def spans(self) -> list[tuple[str, str, str]]:
        """(name, trace id, parent span id) of every exported span."""
        return [
            (span.name, span.trace_id.hex(), span.parent_span_id.hex())
            for request in self.requests
            for resource in request.resource_spans
            for scope in resource.scope_spans
            for span in scope.spans
        ]


@pytest.fixture
def otlp_collector() -> Iterator[Collector]:
    server = Collector()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


async def _run(tmp_path: Path, server: NatsServer, proc: RuntimeProcess) -> list[str]:
    _, digest, window = build_example_model(MODEL, tmp_path / "models")
    runtime_config(proc.config_path, server.url, [deployment(MODEL, digest, window, input_subject="in.tx")], tmp_path)
    nc = await nats.connect(server.url)
    js = nc.jetstream()
    try:
        await setup_streams(js, durables={f"{MODEL}-stable": "in.tx"})
        proc.start()
        for i, record in enumerate(example_records(MODEL, seed=2, count=20, keys=2)):
            headers = {"Nats-Msg-Id": f"t-{i}", "traceparent": f"00-{TRACE_ID}-{PARENT}-01"}
            await js.publish("in.tx", json.dumps(record).encode(), headers=headers)

        await wait_for(lambda: results_at_least(js, "out.results", 20), 60, "results", proc.log_tail)
        results = await read_all(js, "OUT", "out.results", 20)
        assert proc.terminate() == 0  # flushes the span exporter
        return [m.headers["traceparent"] for m in results]
    finally:
        await nc.close()


async def test_trace_continues_onto_results_and_spans_are_exported(
    tmp_path: Path, nats_server: NatsServer, runtime_process: RuntimeProcess, otlp_collector: Collector
) -> None:
    runtime_process.env.update(
        OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{otlp_collector.server_port}", OTEL_BSP_SCHEDULE_DELAY="100"
    )
    traceparents = await _run(tmp_path, nats_server, runtime_process)
    assert len(traceparents) == 20
    span_ids = set()
    for value in traceparents:
        version, trace_id, span_id, flags = value.split("-")
        assert (version, trace_id, flags) == ("00", TRACE_ID, "01")
        assert span_id != PARENT
        span_ids.add(span_id)
    assert len(span_ids) == 20  # one span per message
    spans = otlp_collector.spans()
    roots = [s for s in spans if s[0] == "edgeops.infer"]
    assert len(roots) == 20
    assert all(trace == TRACE_ID and parent == PARENT for _, trace, parent in roots)
    for stage in ("features", "inference", "publish"):
        assert sum(1 for name, trace, _ in spans if name == stage and trace == TRACE_ID) == 20


async def test_traceparent_passes_through_when_tracing_is_off(
    tmp_path: Path, nats_server: NatsServer, runtime_process: RuntimeProcess
) -> None:
    runtime_process.env.update(OTEL_SDK_DISABLED="true")
    traceparents = await _run(tmp_path, nats_server, runtime_process)
    assert set(traceparents) == {f"00-{TRACE_ID}-{PARENT}-01"}
