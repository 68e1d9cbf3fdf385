"""Changing the fleet through pull requests, beneath both the PR bot and the canary controller: the `Bot` handle
(git + forge + policy) and how it is opened, a verdict proposed as a pull request, and the merge guardrail."""

from reconciler.app.gitops.connect import BotSettings, BotSettingsError, open_bot
from reconciler.app.gitops.guard import GuardrailRefused, guardrail_problems, merge_guarded
from reconciler.app.gitops.handle import VALIDATE_CONTEXT, Bot, checks_green, report_validation
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
    "open_bot",
    "propose",
    "report_validation",
    "validate_commit",
    "zone_path",
]
