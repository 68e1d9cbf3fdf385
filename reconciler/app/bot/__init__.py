"""The PR bot: plan comments on pull requests, comment commands, rollout reports, webhook service."""

from reconciler.app.bot.command import CommandReport, handle_comment
from reconciler.app.bot.deploy import RegionRollout, report_deploy, rollout
from reconciler.app.bot.pull import PullOptions, PullReport, handle_pull
from reconciler.app.bot.webhook import RecentDeliveries, dispatch, handle_push, make_server, signature_valid
from reconciler.shells.forge import upsert

__all__ = [
    "CommandReport",
    "PullOptions",
    "PullReport",
    "RecentDeliveries",
    "RegionRollout",
    "dispatch",
    "handle_comment",
    "handle_pull",
    "handle_push",
    "make_server",
    "report_deploy",
    "rollout",
    "signature_valid",
    "upsert",
]
