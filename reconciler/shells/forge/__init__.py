"""The forge (GitHub / GitHub Enterprise): pull requests, comments, merges, statuses (see `errors`)."""

from reconciler.shells.forge.client import CommentInfo, Forge, PullInfo, token_from_environment
from reconciler.shells.forge.comments import upsert
from reconciler.shells.forge.errors import (
    ForgeAuthError,
    ForgeConflict,
    ForgeError,
    ForgeNotFound,
    ForgeUnreachable,
    MergeRefused,
)

__all__ = [
    "CommentInfo",
    "Forge",
    "ForgeAuthError",
    "ForgeConflict",
    "ForgeError",
    "ForgeNotFound",
    "ForgeUnreachable",
    "MergeRefused",
    "PullInfo",
    "token_from_environment",
    "upsert",
]
