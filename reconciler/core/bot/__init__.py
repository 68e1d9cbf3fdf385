"""The PR bot's pure parts: safe markdown, comment commands, workflow annotations and the credential-free plan
preview. What a canary pull request says and the canary-only merge guardrail live with the canary core."""

from reconciler.core.bot.annotations import annotation, workflow_commands
from reconciler.core.bot.commands import USAGE, Command, CommandError, parse_command
from reconciler.core.bot.markdown import (
    COMMENT_LIMIT,
    TITLE_LIMIT,
    clip,
    code,
    fenced,
    inline,
    marker,
    mermaid_label,
    part_marker,
    split_comment,
    with_parts,
)
from reconciler.core.bot.preview import preview_region

__all__ = [
    "COMMENT_LIMIT",
    "TITLE_LIMIT",
    "USAGE",
    "Command",
    "CommandError",
    "annotation",
    "clip",
    "code",
    "fenced",
    "inline",
    "marker",
    "mermaid_label",
    "parse_command",
    "part_marker",
    "preview_region",
    "split_comment",
    "with_parts",
    "workflow_commands",
]
