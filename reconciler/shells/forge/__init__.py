"""The forge (GitHub / GitHub Enterprise): pull requests, comments, merges, statuses (see `errors`)."""

from reconciler.shells.forge.client import CommentInfo, Forge, PullInfo, token_from_environment
from reconciler.shells.forge.comments import upsert
from reconciler.shells.forge.errors import (
    ForgeAuthError,
    ForgeConflict,
    ForgeError,
    ForgeInvalid,
    ForgeNotFound,
    ForgeUnreachable,
    MergeRefused,
    PullRequestExists,
)

__all__ = [
    "CommentInfo",
    "Forge",
    "ForgeAuthError",
    "ForgeConflict",
    "ForgeError",
    "ForgeInvalid",
    "ForgeNotFound",
    "ForgeUnreachable",
    "MergeRefused",
    "PullInfo",
    "PullRequestExists",
    "token_from_environment",
    "upsert",
]
