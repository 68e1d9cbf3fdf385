"""git: the bot's clone of the fleet repository (see `errors` for the error tree)."""

from reconciler.shells.git.errors import GitError, GitRefError, GitRemoteError
from reconciler.shells.git.signing import SIGNING_KEY_ENV, SignedCommit, load_signing_key
from reconciler.shells.git.workspace import Workspace, branch_for_canary

__all__ = [
    "SIGNING_KEY_ENV",
    "GitError",
    "GitRefError",
    "GitRemoteError",
    "SignedCommit",
    "Workspace",
    "branch_for_canary",
    "load_signing_key",
]
