"""Open the bot's handle from a few settings, filling what is not given from the GitHub Actions environment
(GITHUB_REPOSITORY, EDGEOPS_GITHUB_URL, GITHUB_SERVER_URL) and keeping the clone under $EDGEOPS_CACHE.
Tokens are never settings: the forge and git read them from the environment themselves."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from reconciler.app.gitops.handle import VALIDATE_CONTEXT, Bot
from reconciler.shells.forge import Forge
from reconciler.shells.git import Workspace


class BotSettingsError(Exception):
    """The settings do not say which repository to act on (a usage error, not an outage)."""


@dataclass(frozen=True)
class BotSettings:
    repository: str | None = None  # owner/name; default $GITHUB_REPOSITORY
    github_url: str | None = None  # GitHub Enterprise base URL; default $EDGEOPS_GITHUB_URL, unset: github.com
    clone_url: str | None = None  # default <server>/<owner>/<name>.git
    workdir: Path | None = None  # the bare clone; default $EDGEOPS_CACHE/bot/<owner>-<name>.git
    base: str = "main"
    required_checks: Sequence[str] = ()  # none given: `edgeops/validate`


def open_bot(settings: BotSettings) -> Bot:
    """Connect the forge and open (or clone) the workspace. Raises `BotSettingsError` without a repository, and
    the shells' `ForgeError` / `GitError` when the forge or the clone cannot be reached."""
    full = settings.repository or os.environ.get("GITHUB_REPOSITORY")
    if not full or full.count("/") != 1:
        raise BotSettingsError("--repository owner/name is required (or set GITHUB_REPOSITORY)")
    owner, name = full.split("/")
    url = settings.github_url or os.environ.get("EDGEOPS_GITHUB_URL") or None
    server = (url or os.environ.get("GITHUB_SERVER_URL") or "https://github.com").rstrip("/")
    clone = settings.clone_url or f"{server}/{owner}/{name}.git"
    cache = Path(os.environ.get("EDGEOPS_CACHE", Path.home() / ".cache" / "edgeops"))
    path = settings.workdir or cache / "bot" / f"{owner}-{name}.git"
    forge = Forge(owner, name, url=url)
    workspace = Workspace.open_or_clone(clone, path)
    checks = tuple(settings.required_checks) or (VALIDATE_CONTEXT,)
    return Bot(workspace, forge, base=settings.base, required_checks=checks)
