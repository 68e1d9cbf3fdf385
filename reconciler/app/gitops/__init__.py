"""Changing the fleet through pull requests, beneath both the PR bot and the canary controller: the `Bot` handle
(git + forge + policy) and how it is opened, a verdict proposed as a pull request, the merge guardrail, and the
nudge that announces a merge to the region loops."""

from reconciler.app.gitops.connect import BotSettings, BotSettingsError, open_bot
from reconciler.app.gitops.guard import GuardrailRefused, guardrail_problems, merge_guarded
from reconciler.app.gitops.handle import VALIDATE_CONTEXT, Bot, checks_green, report_validation
from reconciler.app.gitops.nudge import (
    NUDGE_PASSWORD_ENV,
    NUDGE_USER_ENV,
    nudge_endpoint,
    nudge_merged,
    publish_nudge,
    send_nudge,
)
from reconciler.app.gitops.propose import (
    CannotPropose,
    Proposal,
    StaleVerdict,
    note_hold,
    propose,
    validate_commit,
    zone_path,
)

__all__ = [
    "NUDGE_PASSWORD_ENV",
    "NUDGE_USER_ENV",
    "VALIDATE_CONTEXT",
    "Bot",
    "BotSettings",
    "BotSettingsError",
    "CannotPropose",
    "GuardrailRefused",
    "Proposal",
    "StaleVerdict",
    "checks_green",
    "guardrail_problems",
    "merge_guarded",
    "note_hold",
    "nudge_endpoint",
    "nudge_merged",
    "open_bot",
    "propose",
    "publish_nudge",
    "report_validation",
    "send_nudge",
    "validate_commit",
    "zone_path",
]
