"""What `edgeops bot ...` and `edgeops canary run` share: the repository options as one object that opens the
bot (`reconciler.app.gitops.open_bot`), and the one error boundary of these commands, mapping the domain errors
of the forge, git, Prometheus and the fleet repository to a message and an exit code."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import typer

from reconciler.app.gitops import Bot, BotSettings, BotSettingsError, CannotPropose, open_bot
from reconciler.cli.options import EXIT_ERROR, EXIT_USAGE, Base, CloneUrl, GitHubUrl, Repository, Workdir
from reconciler.shells.forge import ForgeError
from reconciler.shells.git import GitError
from reconciler.shells.prometheus import PrometheusError
from reconciler.shells.tree import TreeReadError

# What acting on the fleet's repository may fail with: reported with its message, never as a traceback.
GITOPS_ERRORS: tuple[type[Exception], ...] = (ForgeError, GitError, CannotPropose)
DOMAIN_ERRORS: tuple[type[Exception], ...] = (*GITOPS_ERRORS, PrometheusError, TreeReadError)

R = TypeVar("R")


@dataclass(frozen=True)
class RepositoryOptions:
    """Which repository the bot acts on, on which forge, and where it keeps its clone. Defaults come from the
    GitHub Actions environment (GITHUB_REPOSITORY, GITHUB_SERVER_URL)."""

    repository: Repository = None
    github_url: GitHubUrl = None
    clone_url: CloneUrl = None
    workdir: Workdir = None
    base: Base = "main"

    def open(self, require_check: list[str] | None = None) -> Bot:
        """The bot, with `require_check` as the checks a step or promotion waits for (default: edgeops/validate)."""
        return open_bot(
            BotSettings(
                repository=self.repository,
                github_url=self.github_url,
                clone_url=self.clone_url,
                workdir=self.workdir,
                base=self.base,
                required_checks=tuple(require_check or ()),
            )
        )


@contextmanager
def domain_errors() -> Iterator[None]:
    """Exit 2 (usage) when the settings name no repository, 1 on a domain error; anything else is a bug and is
    left to surface as one."""
    try:
        yield
    except BotSettingsError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(EXIT_USAGE) from error
    except DOMAIN_ERRORS as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(EXIT_ERROR) from error


def guarded(command: Callable[..., R]) -> Callable[..., R]:
    """`command` inside `domain_errors()`."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> R:
        with domain_errors():
            return command(*args, **kwargs)

    return run
