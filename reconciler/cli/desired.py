"""Loading the desired state for the fleet commands (`render`, `plan`, `apply`), with their way of reporting it."""

from __future__ import annotations

from pathlib import Path

import typer

from reconciler.app.desired import load_desired
from reconciler.cli.options import EXIT_ERROR
from reconciler.core.load import LoadResult
from reconciler.shells.tree import TreeReadError


def load_or_exit(repo: Path, rev: str | None) -> LoadResult:
    """Load the desired state; print every problem (file:line:column) and exit 1 when it does not load."""
    try:
        load = load_desired(repo, rev)
    except TreeReadError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(EXIT_ERROR) from error
    for problem in load.warnings:
        typer.echo(f"warning: {problem.file}:{problem.line}:{problem.column}: {problem.message}", err=True)
    if load.spec is None:
        for problem in load.errors:
            typer.echo(
                f"error: {problem.file}:{problem.line}:{problem.column}: {problem.code}: {problem.message}", err=True
            )
        typer.echo("error: the desired state does not load; nothing was done", err=True)
        raise typer.Exit(EXIT_ERROR)
    return load
