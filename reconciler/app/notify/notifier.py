"""Delivering notifications: each event once (`Seen`, by its key), to every target of `spec.notifications` that
wants its kind and severity, from a worker thread, so a slow or dead endpoint never holds up a pass. A delivery is
tried a bounded number of times, then given up: logged and counted (`edgeops_notification_failures_total`).

    notifier = Notifier("eu-west", hub=NatsEndpoint("nats://hub:4222"))
    notifier.send(spec.fleet.spec.notifications, events)     # returns at once
    notifier.flush(5.0)                                       # tests, shutdown: wait for the queue to drain
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter

from reconciler.core.notify import CLOUDEVENTS_CONTENT_TYPE, Event, Seen, as_cloudevent, as_json, as_slack
from reconciler.core.spec import Notifications, NotificationTarget, SecretRef
from reconciler.shells.nats import NatsClient, NatsEndpoint, NatsError, Reconnect
from reconciler.shells.webhook import WebhookError, post_json

log = logging.getLogger("edgeops.notify")


class TargetUnusable(Exception):
    """A target's URL reference cannot be resolved on this host."""


def resolve_url(ref: SecretRef, environ: dict[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    if ref.env is not None:
        value = env.get(ref.env, "").strip()
        if not value:
            raise TargetUnusable(f"environment variable {ref.env} is not set")
        return value
    if ref.file is not None:
        try:
            return Path(ref.file).read_text().strip()
        except OSError as error:
            raise TargetUnusable(f"cannot read {ref.file}: {error.strerror}") from error
    raise TargetUnusable("a webhook URL is read from env or file")


@dataclass(frozen=True)
class _Delivery:
    target: NotificationTarget
    event: Event


class NotifyMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.sent = Counter(
            "edgeops_notifications", "Notifications delivered", ["target", "kind"], registry=self.registry
        )
        self.failures = Counter(
            "edgeops_notification_failures",
            "Notifications given up after the bounded retries",
            ["target", "kind"],
            registry=self.registry,
        )


class Notifier:
    def __init__(
        self,
        region: str,
        *,
        hub: NatsEndpoint | None = None,
        metrics: NotifyMetrics | None = None,
        attempts: int = 3,
        retry_s: float = 0.5,
        timeout_s: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.region = region
        self.hub = hub
        self.metrics = metrics or NotifyMetrics()
        self._attempts = max(1, attempts)
        self._retry_s = retry_s
        self._timeout_s = timeout_s
        self._sleep = sleep
        self._seen = Seen()
        self._queue: queue.Queue[_Delivery | None] = queue.Queue(maxsize=1000)
        self._worker: threading.Thread | None = None
        self._lock = threading.Lock()

    def send(self, config: Notifications, events: Iterable[Event]) -> int:
        """Queue every event not sent before to the targets that want it; how many deliveries were queued."""
        queued = 0
        for event in events:
            if not self._seen.first_time(event.key):
                continue
            for target in config.targets:
                if event.kind in target.events and event.at_least(target.min_severity):
                    queued += self._enqueue(_Delivery(target, event))
        return queued

    def _enqueue(self, delivery: _Delivery) -> int:
        with self._lock:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._work, name="edgeops-notify", daemon=True)
                self._worker.start()
        try:
            self._queue.put_nowait(delivery)
        except queue.Full:
            log.error("notification dropped: queue full", extra={"target": delivery.target.name})
            self.metrics.failures.labels(delivery.target.name, delivery.event.kind).inc()
            return 0
        return 1

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until every queued delivery was tried; False on timeout."""
        deadline = time.monotonic() + timeout_s
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.02)
        return not self._queue.unfinished_tasks

    def _work(self) -> None:
        while True:
            delivery = self._queue.get()
            try:
                if delivery is not None:
                    self._deliver(delivery)
            finally:
                self._queue.task_done()

    def _deliver(self, delivery: _Delivery) -> None:
        target, event = delivery.target, delivery.event
        error: Exception | None = None
        for attempt in range(self._attempts):
            if attempt:
                self._sleep(self._retry_s * 2 ** (attempt - 1))
            try:
                self._once(target, event)
            except (WebhookError, NatsError, TargetUnusable, OSError) as failed:
                error = failed
                if isinstance(failed, TargetUnusable):
                    break  # no retry helps a missing variable
                continue
            self.metrics.sent.labels(target.name, event.kind).inc()
            log.info("notified", extra={"target": target.name, "kind": event.kind, "key": event.key})
            return
        self.metrics.failures.labels(target.name, event.kind).inc()
        log.error(
            "notification not delivered",
            extra={"target": target.name, "kind": event.kind, "key": event.key, "error": str(error)},
        )

    def _once(self, target: NotificationTarget, event: Event) -> None:
        if target.webhook is not None:
            body = as_slack(event) if target.webhook.format == "slack" else as_json(event)
            post_json(resolve_url(target.webhook.url), body, timeout_s=self._timeout_s)
            return
        assert target.cloudevents is not None
        if self.hub is None:
            raise TargetUnusable("no NATS hub configured for this process (--nats)")
        data = json.dumps(as_cloudevent(event)).encode()
        asyncio.run(_publish(self.hub, target.cloudevents.subject, data))


async def _publish(hub: NatsEndpoint, subject: str, data: bytes) -> None:
    client = await NatsClient.connect(hub, Reconnect.NEVER, name="edgeops-notify")
    try:
        await client.publish(subject, data, headers={"content-type": CLOUDEVENTS_CONTENT_TYPE})
        await client.flush()
    finally:
        await client.close()
