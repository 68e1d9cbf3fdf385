"""Options shared by `render`, `plan`, `apply` and `reconcile`, and loading the desired state for them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from reconciler.app.desired import load_desired
from reconciler.core.load import LoadResult
from reconciler.shells.tree import TreeReadError

EXIT_ERROR = 1

Region = Annotated[str, typer.Option("--region", help="the region whose zones to act on")]
ZoneOpt = Annotated[str | None, typer.Option("--zone", help="only this zone of the region")]
Rev = Annotated[
    str | None, typer.Option("--rev", help="git revision to read (SHA, branch, HEAD); default: the working tree")
]
RepoPath = Annotated[Path, typer.Option("--repo", help="the fleet repository (working tree)")]
Namespace = Annotated[str, typer.Option("--namespace", help="namespace edgeops uses in every zone")]
Kubeconfig = Annotated[
    Path | None,
    typer.Option("--kubeconfig", help="kubeconfig holding a context per zone (default: $KUBECONFIG)"),
]


def kubeconfig_path(value: Path | None) -> Path | None:
    if value is not None:
        return value
    env = os.environ.get("KUBECONFIG", "").split(os.pathsep)[0]
    return Path(env) if env else None


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
