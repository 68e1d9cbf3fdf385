"""`edgeops sandbox demo`: on the running region (started first when none runs), the scripted scenario of
`reconciler.sandbox.region.demo` as a live timeline: every line is stamped with the time since the demo began, the
pull requests and comments are printed as the forge holds them, and a summary of the measured times ends it.

Exit codes: 0 every step happened; 1 a step did not (the message names it and what the parts showed); 2 usage.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.status import Status
from rich.table import Table

from reconciler.cli.sandbox_region import (
    EXIT_FAILED,
    RegionName,
    StateDir,
    TemplatePath,
    UpTimeout,
    Zones,
    bring_up,
    flowing,
)
from reconciler.sandbox.region import DEFAULT_STATE, Layout
from reconciler.sandbox.region.demo import Demo, DemoFailed, DemoOptions, DemoReport
from reconciler.sandbox.region.parts import PartError

_DOCUMENT_LINES = 24  # a long plan or evidence comment is cut here on the terminal (the forge holds it whole)


class _Timeline:
    """The demo's `Show`: stamped lines, documents in panels, a spinner saying what it waits for."""

    def __init__(self, console: Console, status: Status) -> None:
        self._console, self._status = console, status
        self._start = time.monotonic()

    def _stamp(self) -> str:
        seconds = int(time.monotonic() - self._start)
        return f"[dim]{seconds // 60:02d}:{seconds % 60:02d}[/dim]"

    def step(self, title: str) -> None:
        self._console.rule(f"[bold]{escape(title)}[/bold]", align="left")
        self._status.update(escape(title) + " ...")

    def event(self, text: str) -> None:
        self._console.print(f"{self._stamp()} [green]✓[/green] {escape(text)}")

    def document(self, title: str, body: str) -> None:
        lines = body.strip().splitlines()
        if len(lines) > _DOCUMENT_LINES:
            lines = [*lines[:_DOCUMENT_LINES], f"… {len(lines) - _DOCUMENT_LINES} more lines on the forge"]
        self._console.print(Panel(escape("\n".join(lines)), title=escape(title), title_align="left", style="dim"))

    def waiting(self, text: str) -> None:
        self._status.update(escape(text) + " ...")


def demo_command(
    path: TemplatePath = Path("."),
    region: RegionName = None,
    zone: Zones = None,
    state_dir: StateDir = DEFAULT_STATE,
    timeout: UpTimeout = 900.0,
    step_timeout: Annotated[
        float, typer.Option("--step-timeout", help="seconds any one step may take before the demo fails")
    ] = 300.0,
) -> None:
    console = Console()
    layout = Layout(state_dir.resolve())
    zones = tuple(zone or ())
    bring_up(console, layout, path, region, zones, timeout)
    options = DemoOptions(zone=zones[0] if zones else None, step_timeout_s=step_timeout)
    started = time.monotonic()
    try:
        with console.status("waiting for every part to be healthy and for results ...") as status:
            deadline = time.monotonic() + step_timeout
            while not flowing(layout):
                if time.monotonic() > deadline:
                    raise DemoFailed("start", f"the region is not healthy with results after {step_timeout:.0f} s")
                time.sleep(2)
            report = Demo(layout, options, _Timeline(console, status)).run()
    except DemoFailed as failed:
        console.print(f"[red]demo failed at step {escape(failed.step)}:[/red] {escape(failed.observed)}")
        console.print(f"logs: {escape(str(layout.logs))}; the region keeps running (`edgeops sandbox down`)")
        raise typer.Exit(EXIT_FAILED) from None
    except PartError as error:
        console.print(f"[red]demo failed:[/red] {escape(str(error))}")
        raise typer.Exit(EXIT_FAILED) from None
    _summary(console, report, time.monotonic() - started)


def _summary(console: Console, report: DemoReport, seconds: float) -> None:
    table = Table(title=f"measured in {report.zone}", title_justify="left")
    table.add_column("what")
    table.add_column("value", justify="right")
    for what, took in report.converged_s:
        table.add_row(f"merge of {escape(what)} → converged (apiserver)", f"{took:.0f} s")
    for weight, share in report.shares:
        table.add_row(f"canary share of the records at weight {weight} % (Prometheus)", f"{share:.0f} %")
    if report.breach_s is not None:
        table.add_row("p95 over the SLO (Prometheus) → rollback applied (apiserver)", f"{report.breach_s:.0f} s")
    if report.detected_s is not None:
        table.add_row("rollback pull request opened → rollback applied", f"{report.detected_s:.0f} s")
    for what, count in report.records.items():
        table.add_row(f"records: {what} (JetStream)", str(count))
    table.add_row("the whole demo", f"{seconds / 60:.1f} min")
    console.print(table)
    console.print("[green]every step happened[/green]: the region keeps running (`edgeops sandbox down` stops it)")
