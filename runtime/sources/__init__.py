"""Where records come from: a JetStream pull consumer for every deployment, optionally an MQTT 5 subscription
and synthetic traffic; each is a `Source` feeding the deployment's `runtime.pipeline.DeploymentPipeline`."""

from runtime.sources.jetstream import JetStreamSource
from runtime.sources.mqtt import MqttSource
from runtime.sources.protocol import Settle, SettleLater, Source
from runtime.sources.synthetic import SyntheticTraffic

__all__ = ["JetStreamSource", "MqttSource", "Settle", "SettleLater", "Source", "SyntheticTraffic"]
