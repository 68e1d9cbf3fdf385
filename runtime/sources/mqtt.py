"""MQTT 5 source: a QoS 2 subscription with a persistent session, feeding the same pipeline as JetStream.

paho runs its network loop on its own thread; messages cross into the event loop through a queue. Manual
acks hold the QoS 2 handshake (PUBREC) until the result is acknowledged by JetStream and the window change is
checkpointed, so a crash before that makes the broker redeliver the message to the resumed session.

Result ids derive from the producer's `msg-id` user property when present, else from a hash of topic and
payload. MQTT has no stream sequence: records join their window in arrival order.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import time
from typing import Any
from urllib.parse import urlparse

from runtime.config import MqttSourceConfig
from runtime.pipeline import (
    SENSOR_TS_HEADER,
    DeploymentPipeline,
    Incoming,
    input_id,
    parse_sensor_ts,
    parse_traceparent,
)
from runtime.publish import Publisher
from runtime.sources.protocol import SettleLater
from runtime.sources.scoring import score_until_available

log = logging.getLogger("edgeops.runtime.mqtt")

SESSION_EXPIRY_S = 3600


class MqttSource:
    def __init__(
        self, config: MqttSourceConfig, pipeline: DeploymentPipeline, publisher: Publisher,
        settle_later: SettleLater, stopping: asyncio.Event,
    ) -> None:  # fmt: skip
        self.config = config
        self.pipeline = pipeline
        self.publisher = publisher
        self.settle_later = settle_later
        self.stopping = stopping
        self.ready = False  # subscribed (QoS 2 granted) on a live connection
        self.queue: asyncio.Queue[Any] = asyncio.Queue()

    def _client(self, loop: asyncio.AbstractEventLoop) -> Any:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=self.config.client_id,
            protocol=mqtt.MQTTv5, manual_ack=True,
        )  # fmt: skip
        if self.config.username_env:
            password = os.environ.get(self.config.password_env) if self.config.password_env else None
            client.username_pw_set(os.environ[self.config.username_env], password)
        connect_props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        connect_props.SessionExpiryInterval = SESSION_EXPIRY_S

        def on_connect(c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
            if reason.is_failure:
                log.warning("mqtt connect refused: %s", reason)
                return
            c.subscribe(self.config.topic, qos=2)

        def on_subscribe(_c: Any, _u: Any, _mid: Any, reasons: Any, _p: Any) -> None:
            self.ready = all(not r.is_failure for r in reasons)

        def on_disconnect(_c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
            self.ready = False
            log.info("mqtt disconnected: %s", reason)

        def on_message(_c: Any, _u: Any, msg: Any) -> None:
            loop.call_soon_threadsafe(self.queue.put_nowait, (msg, time.time()))

        client.on_connect = on_connect
        client.on_subscribe = on_subscribe
        client.on_disconnect = on_disconnect
        client.on_message = on_message
        client.reconnect_delay_set(min_delay=1, max_delay=5)
        url = urlparse(self.config.url)
        if url.scheme == "mqtts":
            client.tls_set()
        client.connect_async(
            url.hostname or "localhost",
            url.port or (8883 if url.scheme == "mqtts" else 1883),
            keepalive=30,
            clean_start=False,
            properties=connect_props,
        )
        return client

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        client = self._client(loop)
        client.loop_start()
        try:
            max_batch = self.pipeline.config.batching.max_batch_size
            while not self.stopping.is_set():
                try:
                    first = await asyncio.wait_for(self.queue.get(), 0.5)
                except TimeoutError:
                    continue
                items = [first]
                while len(items) < max_batch and not self.queue.empty():
                    items.append(self.queue.get_nowait())
                await self._dispatch(client, items)
        finally:
            # Unacked messages stay with the broker's session and come back on the next connect.
            await asyncio.sleep(0.2)
            client.disconnect()
            client.loop_stop()

    def _incoming(self, client: Any, msg: Any, arrived: float) -> Incoming:
        props = dict(getattr(msg.properties, "UserProperty", None) or [])
        topic = msg.topic
        fallback = "mqtt:" + hashlib.sha256(topic.encode() + b"\0" + msg.payload).hexdigest()[:32]
        mid, qos = msg.mid, msg.qos

        async def ack() -> None:
            client.ack(mid, qos)

        return Incoming(
            payload=msg.payload, seq=None, input_id=input_id(props.get("msg-id") or props.get("Nats-Msg-Id"), fallback),
            source=topic, stream_ts=arrived, sensor_ts=parse_sensor_ts(props.get(SENSOR_TS_HEADER)),
            traceparent=parse_traceparent(props.get("traceparent")),
            settle=ack,
        )  # fmt: skip

    async def _dispatch(self, client: Any, items: list[Any]) -> None:
        batch = [self._incoming(client, msg, arrived) for msg, arrived in items]
        outgoing = await score_until_available(self.pipeline, self.pipeline.featurise(batch), self.stopping)
        if outgoing is None:  # stopping during a model outage: unacked, so the broker redelivers them
            return
        start_ns = time.time_ns()
        if await self.publisher.publish_all(outgoing):
            self.pipeline.published(outgoing, start_ns)
            for message in batch:
                if message.settle is not None:
                    self.settle_later(message.settle)
