"""`edgeops status`: one row per zone of a region, read now from the zones, the branch and Prometheus.

Exit codes: 0 every zone at the branch head and none stale; 3 some zone stale; 1 error (the desired state does not
load).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from reconciler.cli.desired import load_or_exit
from reconciler.cli.options import Kubeconfig, Namespace, Region, RepoPath, Rev, kubeconfig_path

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
    region: Region,
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
) -> None:
    from reconciler.app.fleetview import StatusOptions, region_status
    from reconciler.core.fleetview import format_json, format_text

    load = load_or_exit(repo, rev)
    assert load.spec is not None
    if load.spec.region(region) is None:
        typer.echo(f"error: region {region!r} is not in fleet.yaml", err=True)
        raise typer.Exit(1)
    options = StatusOptions(
        kubeconfig=kubeconfig_path(kubeconfig),
        namespace=namespace,
        prometheus=prometheus,
        stale_after=timedelta(seconds=stale_after),
    )
    now = datetime.now(UTC)
    status = region_status(load, region, options, now)
    for problem in status.problems:
        typer.echo(f"warning: {problem}", err=True)
    typer.echo(format_json(status.rows) if output is StatusFormat.JSON else format_text(status.rows, now))
    if any(row.stale for row in status.rows):
        raise typer.Exit(EXIT_STALE)
