"""`edgeops status`: one row per zone of a region, read now from the zones, the branch and Prometheus; with
`--serve PORT`, the read-only fleet page (every region, canary charts, edgeops pull requests, last rollbacks) on
http://HOST:PORT/ until interrupted.

Exit codes: 0 every zone at the branch head and none stale; 3 some zone stale; 1 error (the desired state does not
load).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from reconciler.cli.desired import load_or_exit
from reconciler.cli.options import (
    EXIT_ERROR,
    EXIT_USAGE,
    GitHubUrl,
    Kubeconfig,
    Namespace,
    RepoPath,
    Repository,
    Rev,
    kubeconfig_path,
)

if TYPE_CHECKING:
    from reconciler.app.fleetview import StatusOptions

EXIT_STALE = 3


class StatusFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


def register(app: typer.Typer) -> None:
    app.command(
        "status",
        help="Show every zone of a region: reachability, revision, status, models, canaries, model pulls."
        "\n\nExit codes: 0 all zones current; 3 a zone is stale; 1 error.",
    )(status_command)


def status_command(
    *,
    region: Annotated[str | None, typer.Option("--region", help="the region to show (not with --serve)")] = None,
    rev: Rev = "HEAD",
    repo: RepoPath = Path("."),
    namespace: Namespace = "edgeops",
    kubeconfig: Kubeconfig = None,
    prometheus: Annotated[
        str | None, typer.Option("--prometheus", help="Prometheus URL: also what the runtimes serve and pull")
    ] = None,
    stale_after: Annotated[
        float, typer.Option("--stale-after", help="seconds behind the head after which a zone is stale")
    ] = 600.0,
    output: Annotated[StatusFormat, typer.Option("--format", help="text or json")] = StatusFormat.TEXT,
    serve: Annotated[
        int | None, typer.Option("--serve", help="serve the fleet page of every region on this port (0: any free)")
    ] = None,
    host: Annotated[str, typer.Option("--host", help="address the page listens on")] = "127.0.0.1",
    repository: Repository = None,
    github_url: GitHubUrl = None,
) -> None:
    from reconciler.app.fleetview import StatusOptions, region_status
    from reconciler.core.fleetview import format_json, format_text

    options = StatusOptions(
        kubeconfig=kubeconfig_path(kubeconfig),
        namespace=namespace,
        prometheus=prometheus,
        stale_after=timedelta(seconds=stale_after),
    )
    if serve is not None:
        _serve(repo, rev, options, serve, host, repository, github_url)
        return
    if region is None:
        typer.echo("error: --region is required (or --serve PORT for every region)", err=True)
        raise typer.Exit(EXIT_USAGE)
    load = load_or_exit(repo, rev)
    assert load.spec is not None
    if load.spec.region(region) is None:
        typer.echo(f"error: region {region!r} is not in fleet.yaml", err=True)
        raise typer.Exit(EXIT_ERROR)
    now = datetime.now(UTC)
    status = region_status(load, region, options, now)
    for problem in status.problems:
        typer.echo(f"warning: {problem}", err=True)
    typer.echo(format_json(status.rows) if output is StatusFormat.JSON else format_text(status.rows, now))
    if any(row.stale for row in status.rows):
        raise typer.Exit(EXIT_STALE)


def _serve(
    repo: Path,
    rev: str | None,
    options: StatusOptions,
    port: int,
    host: str,
    repository: str | None,
    github_url: str | None,
) -> None:
    """The page until SIGINT/SIGTERM; its URL on the first line of stdout."""
    import signal
    import threading

    from reconciler.app.fleetview import PageSources, start_fleet_page
    from reconciler.shells.forge import Forge

    forge = None
    if repository:
        owner, _, name = repository.partition("/")
        forge = Forge(owner, name, url=github_url)
    server, url = start_fleet_page(PageSources(repo=repo, rev=rev, status=options, forge=forge), port, host)
    typer.echo(f"fleet page: {url}")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        stop.wait()
    finally:
        server.shutdown()
        server.server_close()
