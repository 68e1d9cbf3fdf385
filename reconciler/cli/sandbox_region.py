"""`edgeops sandbox up | status | down`: a sandbox region around its supervisor process (`reconciler.sandbox.region`).

`up` spawns the supervisor and shows its steps with rich until the region is up (or reports the running one);
`status` prints what every part answers now; `down` stops everything, also after a SIGKILLed `up`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from reconciler.app.desired import load_desired
from reconciler.sandbox.region import (
    DEFAULT_STATE,
    Layout,
    follow_progress,
    probe_region,
    start_supervisor,
    stop_region,
    supervisor_record,
    traffic,
)

EXIT_FAILED = 1
EXIT_USAGE = 2

StateDir = Annotated[Path, typer.Option("--state-dir", help="the region's state (default: .sandbox)")]


TemplatePath = Annotated[Path, typer.Argument(help="repository holding the template fleet (default: .)")]
RegionName = Annotated[str | None, typer.Option("--region", help="region to run (default: the first)")]
Zones = Annotated[list[str] | None, typer.Option("--zone", help="run only these zones of the region (repeatable)")]
UpTimeout = Annotated[float, typer.Option("--timeout", help="seconds to wait for the region")]


def up_command(
    path: TemplatePath = Path("."),
    region: RegionName = None,
    zone: Zones = None,
    state_dir: StateDir = DEFAULT_STATE,
    timeout: UpTimeout = 900.0,
) -> None:
    console = Console()
    layout = Layout(state_dir.resolve())
    bring_up(console, layout, path, region, tuple(zone or ()), timeout)
    _print_status(console, layout)


def bring_up(
    console: Console, layout: Layout, path: Path, region: str | None, zones: tuple[str, ...], timeout: float
) -> None:
    """Start a region from `path`'s template unless one runs from `layout` already; exits the command on failure."""
    running = supervisor_record(layout)
    if running is not None:
        console.print(f"a region already runs from {escape(str(layout.root))} (supervisor pid {running['pid']})")
        return
    load = load_desired(path)
    if load.spec is None:
        console.print(f"[red]error:[/red] {escape(str(path))}: the fleet is not valid (run `edgeops validate`)")
        raise typer.Exit(EXIT_USAGE)
    chosen = region or load.spec.fleet.spec.regions[0].name
    if load.spec.region(chosen) is None:
        console.print(f"[red]error:[/red] region {escape(chosen)!r} is not in fleet.yaml")
        raise typer.Exit(EXIT_USAGE)
    if layout.root.exists():  # what a crashed or killed region left: stop it before starting afresh
        stop_region(layout)
    pid = start_supervisor(path, layout, chosen, zones)
    console.print(f"bringing up region [bold]{escape(chosen)}[/bold] (supervisor pid {pid}, state {layout.root})")
    failed = None
    with console.status("starting ...") as spinner:
        for event in follow_progress(layout, pid, timeout):
            kind, message = event.get("kind"), escape(str(event.get("message", "")))
            if kind == "note":
                console.print(f"  [yellow]note:[/yellow] {message}")
            elif kind == "failed":
                failed = message
            elif kind == "ready":
                console.print(f"  [green]✓[/green] {message}")
            else:
                console.print(f"  [green]✓[/green] {message}")
                spinner.update(message + " ...")
    if failed is not None:
        console.print(f"[red]failed:[/red] {failed}")
        console.print("stopping what was started ...")
        stop_region(layout)
        raise typer.Exit(EXIT_FAILED)


def status_command(
    state_dir: StateDir = DEFAULT_STATE,
    wait: Annotated[
        float,
        typer.Option(
            "--wait",
            help="seconds to wait until every part is healthy and every zone's runtimes turn records into results",
        ),
    ] = 0.0,
) -> None:
    console = Console()
    layout = Layout(state_dir.resolve())
    deadline = time.monotonic() + wait
    if wait > 0:
        with console.status("waiting for every part to be healthy and for results ..."):
            while time.monotonic() < deadline and not flowing(layout):
                time.sleep(3)
    healthy = _print_status(console, layout)
    flows = _print_traffic(console, layout)
    if not healthy or (wait > 0 and not flows):
        raise typer.Exit(EXIT_FAILED)


def flowing(layout: Layout) -> bool:
    health = probe_region(layout)
    zones = traffic(layout)
    return bool(health and health.healthy and zones and all(z.results > 0 and z.targets_up for z in zones))


def _print_traffic(console: Console, layout: Layout) -> bool:
    zones = traffic(layout)
    if not zones:
        return False
    table = Table(title="sensor traffic, as Prometheus scraped it from the runtime pods", title_justify="left")
    for column in ("zone", "runtime pods scraped", "records taken", "results published"):
        table.add_column(column)
    for zone in zones:
        colour = "green" if zone.results > 0 else "red"
        table.add_row(
            escape(zone.zone), str(zone.targets_up), f"{zone.taken:.0f}", f"[{colour}]{zone.results:.0f}[/{colour}]"
        )
    console.print(table)
    return all(z.results > 0 for z in zones)


def _print_status(console: Console, layout: Layout) -> bool:
    health = probe_region(layout)
    if health is None:
        console.print(f"no sandbox region runs from {escape(str(layout.root))} (`edgeops sandbox up` starts one)")
        return False
    supervisor = "[red]not running[/red]" if health.supervisor_pid is None else f"pid {health.supervisor_pid}"
    table = Table(title=f"sandbox region (supervisor {supervisor})", title_justify="left")
    for column in ("part", "health", "where", "pid", "detail"):
        table.add_column(column, overflow="fold")
    for part in health.parts:
        mark = "[green]up[/green]" if part.healthy else "[red]down[/red]"
        table.add_row(escape(part.name), mark, escape(part.where), str(part.pid or ""), escape(part.detail))
    console.print(table)
    for note in health.notes:
        console.print(f"[yellow]note:[/yellow] {escape(note)}")
    return health.healthy


def down_command(state_dir: StateDir = DEFAULT_STATE) -> None:
    console = Console()
    layout = Layout(state_dir.resolve())
    if not layout.root.exists():
        console.print(f"nothing to stop: {escape(str(layout.root))} does not exist")
        return
    with console.status("stopping the region ..."):
        report = stop_region(layout)
    if report.stopped_supervisor:
        console.print("stopped the supervisor and the parts it stopped in order")
    if report.stopped or report.pods:
        console.print(
            f"stopped what it left running: {len(report.stopped)} servers"
            f"{' (' + escape(', '.join(report.stopped)) + ')' if report.stopped else ''}, {report.pods} pod processes"
        )
    if report.listening:
        console.print(f"[red]still listening:[/red] ports {report.listening}; {escape(str(layout.root))} kept")
        raise typer.Exit(EXIT_FAILED)
    console.print(f"removed {escape(str(layout.root))}")
