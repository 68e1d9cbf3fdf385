"""Options shared by `edgeops canary run` and `edgeops bot ...`: which repository, which forge, where the bot
keeps its clone. Defaults come from the GitHub Actions environment (GITHUB_REPOSITORY, GITHUB_SERVER_URL)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from reconciler.app.gitops import Bot
from reconciler.shells.forge import Forge, ForgeError
from reconciler.shells.git import GitError, Workspace

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2

Repository = Annotated[
    str | None, typer.Option("--repository", help="owner/name on the forge (default: $GITHUB_REPOSITORY)")
]
GitHubUrl = Annotated[
    str | None,
    typer.Option("--github-url", help="GitHub Enterprise base URL (default: $EDGEOPS_GITHUB_URL; unset: github.com)"),
]
CloneUrl = Annotated[
    str | None, typer.Option("--clone-url", help="git URL or path to clone (default: <server>/<owner>/<name>.git)")
]
Workdir = Annotated[
    Path | None, typer.Option("--workdir", help="where the bot keeps its bare clone (default: under $EDGEOPS_CACHE)")
]
Base = Annotated[str, typer.Option("--base", help="the branch the fleet is deployed from")]
RequireCheck = Annotated[
    list[str] | None,
    typer.Option(
        "--require-check", help="status context that must be green before a step or promotion merges (repeatable)"
    ),
]


def make_bot(
    *,
    repository: str | None,
    github_url: str | None,
    clone_url: str | None,
    workdir: Path | None,
    base: str,
    require_check: list[str] | None,
) -> Bot:
    """Open the forge and the clone, or exit 2 (usage) / 1 (unreachable) with a message saying why."""
    full = repository or os.environ.get("GITHUB_REPOSITORY")
    if not full or full.count("/") != 1:
        typer.echo("error: --repository owner/name is required (or set GITHUB_REPOSITORY)", err=True)
        raise typer.Exit(EXIT_USAGE)
    owner, name = full.split("/")
    url = github_url or os.environ.get("EDGEOPS_GITHUB_URL") or None
    server = (url or os.environ.get("GITHUB_SERVER_URL") or "https://github.com").rstrip("/")
    clone = clone_url or f"{server}/{owner}/{name}.git"
    cache = Path(os.environ.get("EDGEOPS_CACHE", Path.home() / ".cache" / "edgeops"))
    path = workdir or cache / "bot" / f"{owner}-{name}.git"
    try:
        forge = Forge(owner, name, url=url)
        workspace = Workspace.open_or_clone(clone, path)
    except (ForgeError, GitError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(EXIT_ERROR) from error
    return Bot(workspace, forge, base=base, required_checks=tuple(require_check or ("edgeops/validate",)))
