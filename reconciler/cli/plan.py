"""`edgeops plan`: what an apply would change in each zone of a region, compared with the live clusters.

Exit codes: 0 no changes; 3 changes pending; 1 error (desired state invalid, or a zone could not be planned).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from reconciler.cli.desired import load_or_exit
from reconciler.cli.options import EXIT_ERROR, Kubeconfig, Namespace, Region, RepoPath, Rev, ZoneOpt, kubeconfig_path

EXIT_CHANGES = 3


class PlanFormat(StrEnum):
    TEXT = "text"
    JSON = "json"
    MARKDOWN = "markdown"


def register(app: typer.Typer) -> None:
    app.command(
        "plan",
        help="Plan a region against its live zones.\n\nExit codes: 0 no changes; 3 changes pending; 1 error.",
    )(plan_command)


def plan_command(
    *,
    region: Region,
    zone: ZoneOpt = None,
    rev: Rev = None,
    repo: RepoPath = Path("."),
    namespace: Namespace = "edgeops",
    kubeconfig: Kubeconfig = None,
    output: Annotated[
        PlanFormat, typer.Option("--format", help="text, json, or markdown (the PR comment)")
    ] = PlanFormat.TEXT,
    adopt: Annotated[bool, typer.Option("--adopt", help="plan taking over objects that are not ours")] = False,
    nats: Annotated[
        str | None,
        typer.Option("--nats", help="client URL of the region's NATS hub: also plan every zone's JetStream assets"),
    ] = None,
) -> None:
    """Render, read the live objects, dry-run the apply server-side and print the change set per zone."""
    from reconciler.app.reconcile import (
        ApplyOptions,
        DesiredStateInvalid,
        RegionOptions,
        plan_region,
        repository_history,
    )
    from reconciler.core.plan import format_json, format_markdown, format_text
    from reconciler.core.render import RenderOptions

    load = load_or_exit(repo, rev)
    options = RegionOptions(
        kubeconfig=kubeconfig_path(kubeconfig),
        render=RenderOptions(namespace=namespace),
        apply=ApplyOptions(adopt=adopt),
    )
    try:
        plans = plan_region(load, region, options, zone, history=repository_history(repo))
    except DesiredStateInvalid as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(EXIT_ERROR) from error
    revision = load.revision or "working-tree"
    if nats is not None and load.spec is not None:
        import asyncio

        from reconciler.app.nats import plan_region_nats
        from reconciler.core.plan import with_nats
        from reconciler.shells.nats import NatsEndpoint

        results = asyncio.run(plan_region_nats(load.spec, region, NatsEndpoint(nats), zone=zone))
        plans = with_nats(plans, results, load.revision)
    if output is PlanFormat.JSON:
        typer.echo(format_json(plans, region=region), nl=False)
    elif output is PlanFormat.MARKDOWN:
        typer.echo(format_markdown(plans, region=region, revision=revision), nl=False)
    else:
        typer.echo(format_text(plans), nl=False)
    if any(p.error for p in plans):
        raise typer.Exit(EXIT_ERROR)
    if any(p.pending for p in plans):
        raise typer.Exit(EXIT_CHANGES)
