"""NATS desired state, pure: names (`naming`), the zone server's config (`server`, `conf`, `helm`) and the
JetStream assets (`assets`); their comparison against what a server reports is planning
(`reconciler.core.plan.nats_diff`)."""

from reconciler.core.nats.assets import (
    MANAGED_BY,
    MANAGER,
    REVISION,
    ConsumerAsset,
    JetStreamAssets,
    StreamAsset,
    hub_assets,
    zone_assets,
)
from reconciler.core.nats.conf import ConfRenderError, render_conf
from reconciler.core.nats.helm import CHART, CHART_REPO, USERS_SECRET, helm_values
from reconciler.core.nats.naming import js_api_prefix
from reconciler.core.nats.server import (
    NatsRenderError,
    ServerSettings,
    active_tracks,
    hub_server_config,
    route_weights,
    server_config,
    subject_overlaps,
)

__all__ = [
    "CHART",
    "CHART_REPO",
    "MANAGED_BY",
    "MANAGER",
    "REVISION",
    "USERS_SECRET",
    "ConfRenderError",
    "ConsumerAsset",
    "JetStreamAssets",
    "NatsRenderError",
    "ServerSettings",
    "StreamAsset",
    "active_tracks",
    "helm_values",
    "hub_assets",
    "hub_server_config",
    "js_api_prefix",
    "render_conf",
    "route_weights",
    "server_config",
    "subject_overlaps",
    "zone_assets",
]
