"""`edgeops sandbox`: the main job on an embedded local default — the template fleet in this repository.

Today it validates the desired state and summarises what each region's reconciler would run, zone by zone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from reconciler.app.desired import load_desired
from reconciler.cli.validate import EXIT_INVALID, EXIT_USAGE, summary
from reconciler.core.spec import FleetSpec
from reconciler.shells.tree import TreeReadError


def fleet_table(spec: FleetSpec) -> Table:
    table = Table(title=f"fleet {spec.fleet.metadata.name}", title_justify="left")
    for column in ("region", "zone", "hardware", "target", "model", "stable", "canary"):
        table.add_column(column)
    for zone in spec.zones:
        hw = zone.spec.hardware
        hardware = f"{hw.arch}" + ("" if hw.accelerator == "none" else f" + {hw.accelerator}")
        rows = zone.spec.models or ()
        if not rows:
            table.add_row(zone.spec.region, zone.name, hardware, hw.target, "-", "-", "-")
        for assignment in rows:
            canary = assignment.canary
            canary_text = "-" if canary is None else f"{canary.version} ({canary.phase}, {canary.weight}%)"
            table.add_row(
                escape(zone.spec.region),
                escape(zone.name) + (" [yellow](paused)[/yellow]" if zone.spec.paused else ""),
                hardware,
                hw.target,
                escape(assignment.model),
                assignment.version,
                canary_text,
            )
    return table


def sandbox(
    path: Annotated[Path, typer.Argument(help="repository root (default: current directory)")] = Path("."),
) -> None:
    """Validate the fleet in PATH and show, per region and zone, the models and canaries it runs.

    Exit status: 0 valid, 1 invalid, 2 I/O error.
    """
    console = Console()
    try:
        result = load_desired(path)
    except TreeReadError as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(EXIT_USAGE) from None
    for problem in result.errors:
        console.print(escape(str(problem)), highlight=False, soft_wrap=True)
    if result.spec is None:
        console.print(f"[red]{escape(summary(result))}[/red]")
        raise typer.Exit(EXIT_INVALID)
    console.print(fleet_table(result.spec))
    console.print(f"[green]{escape(summary(result))}[/green]", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("sandbox")(sandbox)
