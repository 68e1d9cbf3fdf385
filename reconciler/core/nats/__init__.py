"""NATS desired state, pure: names (`naming`), the zone server's config (`server`, `conf`, `helm`) and the
JetStream assets (`assets`); their comparison against what a server reports is planning
(`reconciler.core.plan.nats_diff`)."""

from reconciler.core.nats.conf import ConfRenderError, render_conf
from reconciler.core.nats.helm import helm_values
from reconciler.core.nats.server import (
    NatsRenderError,
    ServerSettings,
    active_tracks,
    hub_server_config,
    route_weights,
    server_config,
)

__all__ = [
    "ConfRenderError",
    "NatsRenderError",
    "ServerSettings",
    "active_tracks",
    "helm_values",
    "hub_server_config",
    "render_conf",
    "route_weights",
    "server_config",
]
