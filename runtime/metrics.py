"""Prometheus metrics and the HTTP endpoints `/metrics`, `/healthz`, `/readyz`.

The names and labels here are a public interface (the canary controller and the Grafana dashboard query
them; `docs/runtime.md` lists them): rename nothing without updating both.

Every series carries zone, model, version, track and provider. Latency buckets are dense around 5 ms and
30 ms so `histogram_quantile(0.95, ...)` resolves both the aim (5 ms) and the field SLO (30 ms).
"""

from __future__ import annotations

import threading
import time
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (
    0.0005, 0.001, 0.002, 0.003, 0.004, 0.005, 0.006, 0.0075, 0.01, 0.015, 0.02, 0.025,
    0.03, 0.035, 0.04, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
)  # fmt: skip
LABELS = ("zone", "model", "version", "track", "provider")
STAGES = ("queue_wait", "features", "inference", "publish")


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.e2e = Histogram(
            "edgeops_inference_e2e_seconds",
            "Sensor timestamp (Edgeops-Sensor-Ts header, else stream time) to result acknowledged by JetStream.",
            LABELS, buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.stage = Histogram(
            "edgeops_stage_seconds", "Time each message spent in one pipeline stage.",
            (*LABELS, "stage"), buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.batch_size = Histogram(
            "edgeops_batch_size", "Messages per inference batch.", LABELS,
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512), registry=r,
        )  # fmt: skip
        self.requests = Counter("edgeops_requests", "Input messages taken from a source.", LABELS, registry=r)
        self.results = Counter("edgeops_results", "Results published and acknowledged.", LABELS, registry=r)
        self.errors = Counter(
            "edgeops_errors", "Failed messages by reason (malformed input, inference, publish).",
            (*LABELS, "reason"), registry=r,
        )  # fmt: skip
        self.dead_letters = Counter(
            "edgeops_dead_letters", "Messages sent to the dead-letter subject.", (*LABELS, "reason"), registry=r
        )
        self.synthetic = Counter(
            "edgeops_synthetic", "Synthetic-traffic inferences (results on the shadow subject).", LABELS, registry=r
        )
        self.model_info = Gauge(
            "edgeops_model_info", "The model a deployment is serving (value 1).", (*LABELS, "digest"), registry=r
        )
        self.model_load_failures = Counter(
            "edgeops_model_load_failures", "Model loads (start or swap) that failed; the old model stays.",
            ("zone", "model", "track"), registry=r,
        )  # fmt: skip
        self.store_keys = Gauge("edgeops_feature_store_keys", "Windows held in memory.", ("deployment",), registry=r)
        self.checkpoint = Histogram(
            "edgeops_feature_store_checkpoint_seconds", "Duration of one DuckDB checkpoint.",
            buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        # Partition leases (`runtime.lease`), per unit `<model>.<track>.p<p>`.
        self.lease_held = Gauge("edgeops_partition_lease_held", "1 while this process holds the lease.",
                                ("unit",), registry=r)  # fmt: skip
        self.lease_waiting = Gauge(
            "edgeops_partition_lease_waiting", "1 while waiting for another process to release or lose the lease.",
            ("unit",), registry=r,
        )  # fmt: skip
        self.lease_wait = Histogram(
            "edgeops_partition_lease_wait_seconds", "Time from starting to wait for a lease to holding it.",
            ("unit",), buckets=(0.01, 0.1, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300), registry=r,
        )  # fmt: skip
        self.lease_acquired = Counter(
            "edgeops_partition_lease_acquired", "Leases acquired, by what the previous version was: new, released "
            "(a drained owner), expired (an owner that stopped renewing), restarted (this store's previous process).",
            ("unit", "previous"), registry=r,
        )  # fmt: skip
        self.lease_lost = Counter(
            "edgeops_partition_lease_lost", "Leases this process stopped using because a renewal failed too long or "
            "another process took it.", ("unit",), registry=r,
        )  # fmt: skip
        self.ready = Gauge("edgeops_ready", "1 when every deployment is loaded, warmed up and consuming.", registry=r)


def observe_each(child: Histogram, amounts: Iterable[float]) -> None:
    """`child.observe(amount)` for each amount, into one labelled histogram child, with the same updates in the same
    order (the sum, then the one bucket that counts it), but found by bisection rather than `observe`'s walk over
    every bucket below, and without its per-call checks: the per-message series are on the hot path.

    prometheus_client has no public batch observe, so this reads its histogram's private `_upper_bounds` (sorted,
    +Inf last), `_buckets` and `_sum` (values with `inc`), unchanged from 0.20 to 0.26;
    `tests/unit/runtime/test_metrics.py` compares it with `observe` on the installed version."""
    bounds: list[float] = child._upper_bounds
    buckets = child._buckets
    total = child._sum
    for amount in amounts:
        total.inc(amount)
        i = bisect_left(bounds, amount)  # the first bound >= amount, which `observe`'s walk stops at
        if amount <= bounds[i]:  # false only for NaN, which `observe` counts in no bucket
            buckets[i].inc(1)


@dataclass
class Health:
    """Set by the service; read by the HTTP thread. `beat()` from the event loop proves it is not stuck."""

    ready: bool = False
    last_beat: float = field(default_factory=time.monotonic)
    stall_after_s: float = 10.0

    def beat(self) -> None:
        self.last_beat = time.monotonic()

    def alive(self) -> bool:
        return time.monotonic() - self.last_beat < self.stall_after_s


def serve_http(metrics: Metrics, health: Health, host: str, port: int) -> ThreadingHTTPServer:
    """Start the endpoints on a daemon thread; returns the server (its `server_port` is the bound port)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._reply(200, generate_latest(metrics.registry), CONTENT_TYPE_LATEST)
            elif path == "/healthz":
                ok = health.alive()
                self._reply(200 if ok else 503, b"ok\n" if ok else b"event loop stalled\n")
            elif path == "/readyz":
                self._reply(200 if health.ready else 503, b"ready\n" if health.ready else b"not ready\n")
            else:
                self._reply(404, b"not found\n")

        def _reply(self, status: int, body: bytes, content_type: str = "text/plain; charset=utf-8") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return  # scrapes every few seconds would drown the log

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="edgeops-http", daemon=True).start()
    return server
