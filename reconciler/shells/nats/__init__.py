"""The NATS shell: JetStream management (`jetstream`), publish/subscribe (`messaging`) and config files of directly
run servers (`serverconf`). Error tree: `reconciler.shells.nats.errors`."""

from reconciler.shells.nats.errors import (
    NatsApiError,
    NatsError,
    NatsLoginRefused,
    NatsServerConfigError,
    NatsUnreachable,
)
from reconciler.shells.nats.jetstream import JetStreamAdmin, NatsEndpoint
from reconciler.shells.nats.messaging import MessageHandler, NatsClient, NatsMessage, Reconnect
from reconciler.shells.nats.serverconf import read_config, reload_and_wait, signal_reload, write_config

__all__ = [
    "JetStreamAdmin",
    "MessageHandler",
    "NatsApiError",
    "NatsClient",
    "NatsEndpoint",
    "NatsError",
    "NatsLoginRefused",
    "NatsMessage",
    "NatsServerConfigError",
    "NatsUnreachable",
    "Reconnect",
    "read_config",
    "reload_and_wait",
    "signal_reload",
    "write_config",
]
