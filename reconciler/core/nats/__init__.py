"""NATS desired state, pure: names (`naming`), the zone server's config (`server`, `conf`, `helm`), the
JetStream assets (`assets`) and the body of a nudge to the region loop (`nudge`); comparing assets against what a
server reports is planning (`reconciler.core.plan.nats_diff`)."""

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
from reconciler.core.nats.naming import (
    NUDGE_ALL_SUBJECT,
    consumer_track,
    js_api_prefix,
    nudge_subject,
    nudge_subjects,
)
from reconciler.core.nats.nudge import Nudge, NudgeSource, decode_nudge, encode_nudge
from reconciler.core.nats.server import (
    NatsRenderError,
    ServerSettings,
    active_tracks,
    hub_server_config,
    hub_users,
    route_weights,
    server_config,
    subject_overlaps,
)

__all__ = [
    "CHART",
    "CHART_REPO",
    "MANAGED_BY",
    "MANAGER",
    "NUDGE_ALL_SUBJECT",
    "REVISION",
    "USERS_SECRET",
    "ConfRenderError",
    "ConsumerAsset",
    "JetStreamAssets",
    "NatsRenderError",
    "Nudge",
    "NudgeSource",
    "ServerSettings",
    "StreamAsset",
    "active_tracks",
    "consumer_track",
    "decode_nudge",
    "encode_nudge",
    "helm_values",
    "hub_assets",
    "hub_server_config",
    "hub_users",
    "js_api_prefix",
    "nudge_subject",
    "nudge_subjects",
    "render_conf",
    "route_weights",
    "server_config",
    "subject_overlaps",
    "zone_assets",
]
