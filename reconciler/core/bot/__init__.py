"""The PR bot's pure parts: safe markdown, comment commands, the canary-only merge guardrail, canary PR text."""

from reconciler.core.bot.canary_pr import body, commit_message, labels, title
from reconciler.core.bot.commands import Command, CommandError, parse_command
from reconciler.core.bot.guard import canary_only_problems
from reconciler.core.bot.markdown import COMMENT_LIMIT, code, inline, marker, mermaid_label, split_comment, with_parts

__all__ = [
    "COMMENT_LIMIT",
    "Command",
    "CommandError",
    "body",
    "canary_only_problems",
    "code",
    "commit_message",
    "inline",
    "labels",
    "marker",
    "mermaid_label",
    "parse_command",
    "split_comment",
    "title",
    "with_parts",
]
