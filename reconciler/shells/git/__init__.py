"""git: the bot's clone of the fleet repository (see `errors` for the error tree)."""

from reconciler.shells.git.errors import GitError, GitRefError, GitRemoteError
from reconciler.shells.git.workspace import Workspace, branch_for_canary

__all__ = ["GitError", "GitRefError", "GitRemoteError", "Workspace", "branch_for_canary"]
