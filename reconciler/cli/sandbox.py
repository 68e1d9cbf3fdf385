"""`edgeops sandbox`: the product on one machine, from the template fleet in this repository.

- `demo`: the scripted scenario on that region (`reconciler.sandbox.region.demo`): canary, promotion, rollback.
- `up | status | down`: a whole region kept running by a supervisor process (`reconciler.sandbox.region`): a local
  control plane and a node agent per zone, the region's NATS, registry, Prometheus, Jaeger, the region reconciler
  and sensor traffic; `status` asks every part how it is; `down` leaves nothing behind.
- `check`: a one-shot look without leaving anything running. It validates the desired state, summarises what each zone runs, then (when the local control-plane binaries are
built: `make bootstrap`) starts one real control plane per zone of a region and runs two reconcile passes against
them: the first creates everything, the second shows the steady state (no writes). Last, it runs one zone's data
plane as local processes — the region hub and the zone's nats-server from their rendered configs, the zone's
JetStream assets, and `edgeops serve` with the rendered runtime.json — and sends it sensor records.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from reconciler.app.desired import load_desired
from reconciler.app.reconcile import DesiredStateInvalid
from reconciler.cli.validate import EXIT_INVALID, EXIT_USAGE, summary
from reconciler.core.plan import Action, ZoneResult, ZoneStatus
from reconciler.core.spec import FleetSpec
from reconciler.sandbox import (
    BinariesMissing,
    DataplaneError,
    LocalKubeError,
    PassReport,
    SandboxClusters,
    reconcile_passes,
    run_dataplane,
)
from reconciler.shells.tree import TreeReadError

_SIGNS = (("+", Action.CREATE), ("~", Action.CONFIGURE), ("=", Action.UNCHANGED), ("-", Action.PRUNE))
_LEGEND = "changes: +created ~configured =unchanged -pruned"
_STATUS_COLOUR = {
    ZoneStatus.SYNCED: "green",
    ZoneStatus.PROGRESSING: "cyan",
    ZoneStatus.OUT_OF_SYNC: "yellow",
    ZoneStatus.DEGRADED: "yellow",
    ZoneStatus.UNREACHABLE: "red",
}


def fleet_table(spec: FleetSpec) -> Table:
    table = Table(title=f"fleet {escape(spec.fleet.metadata.name)}", title_justify="left")
    for column in ("region", "zone", "hardware", "target", "model", "stable", "canary"):
        table.add_column(column)
    for zone in spec.zones:
        hw = zone.spec.hardware
        hardware = f"{hw.arch}" + ("" if hw.accelerator == "none" else f" + {hw.accelerator}")
        name = escape(zone.name) + (" [yellow](paused)[/yellow]" if zone.spec.paused else "")
        if not zone.spec.models:
            table.add_row(escape(zone.spec.region), name, hardware, hw.target, "-", "-", "-")
        for assignment in zone.spec.models:
            canary = assignment.canary
            canary_text = "-" if canary is None else f"{canary.version} ({canary.phase}, {canary.weight}%)"
            table.add_row(
                escape(zone.spec.region),
                name,
                hardware,
                hw.target,
                escape(assignment.model),
                assignment.version,
                canary_text,
            )
    return table


def _changes(result: ZoneResult) -> str:
    counts = result.plan.all_changes.counts()
    return " ".join(f"{sign}{counts[action]}" for sign, action in _SIGNS)


def _detail(result: ZoneResult) -> str:
    if result.unhealthy:  # 'Deployment/ns/name: 0/2 available, 2/2 updated (...)' → 'name: 0/2 available'
        short = []
        for item in result.unhealthy:
            ref, _, state = item.partition(": ")
            short.append(f"{ref.rsplit('/', 1)[-1]} {state.split(',')[0]}")
        return "not available: " + "; ".join(short)
    return result.message


def pass_table(report: PassReport) -> Table:
    table = Table(
        title=f"reconcile pass {report.number}", title_justify="left", caption=_LEGEND, caption_justify="left"
    )
    for column in ("zone", "status", "changes", "detail"):
        table.add_column(column, overflow="fold")
    for result in report.results:
        colour = _STATUS_COLOUR.get(result.status, "white")
        table.add_row(
            escape(result.zone),
            f"[{colour}]{result.status.value}[/{colour}]",
            _changes(result),
            escape(_detail(result)),
        )
    return table


def check_command(
    path: Annotated[Path, typer.Argument(help="repository root (default: current directory)")] = Path("."),
    region: Annotated[
        str | None, typer.Option("--region", help="region to run (default: the first in fleet.yaml)")
    ] = None,
    state_dir: Annotated[
        Path | None,
        typer.Option("--state-dir", help="where the local clusters keep their state (default: PATH/.sandbox)"),
    ] = None,
    clusters: Annotated[
        bool, typer.Option("--clusters/--no-clusters", help="start local control planes and reconcile against them")
    ] = True,
    dataplane: Annotated[
        bool,
        typer.Option(
            "--dataplane/--no-dataplane", help="run one zone's NATS and `edgeops serve` locally and send it records"
        ),
    ] = True,
    records: Annotated[int, typer.Option("--records", min=1, max=100_000, help="sensor records to send")] = 1000,
) -> None:
    """One-shot: validate the fleet, summarise it, reconcile one region against local control planes (two passes)
    and run one zone's data plane; leaves nothing running.

    Exit status: 0 ok, 1 invalid desired state, 2 I/O error or the local control plane could not start.
    """
    console = Console()
    try:
        load = load_desired(path)
    except TreeReadError as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(EXIT_USAGE) from None
    for problem in load.errors:
        console.print(escape(str(problem)), highlight=False, soft_wrap=True)
    if load.spec is None:
        console.print(f"[red]{escape(summary(load))}[/red]")
        raise typer.Exit(EXIT_INVALID)
    console.print(fleet_table(load.spec))
    console.print(f"[green]{escape(summary(load))}[/green]", highlight=False)
    if not clusters:
        return
    chosen = region or load.spec.fleet.spec.regions[0].name
    if load.spec.region(chosen) is None:
        console.print(f"[red]error:[/red] region {escape(chosen)!r} is not in fleet.yaml")
        raise typer.Exit(EXIT_USAGE)
    state = state_dir or path / ".sandbox"
    console.print(
        f"\nstarting a local control plane per zone of region [bold]{escape(chosen)}[/bold] (state in {escape(str(state))}) ..."
    )
    try:
        with SandboxClusters(load, chosen, state) as local:
            console.print(
                f"kubeconfig: {escape(str(local.kubeconfig))} (contexts: {escape(', '.join(local.contexts))})"
            )
            for report in reconcile_passes(load, chosen, local.kubeconfig):
                console.print(pass_table(report))
    except BinariesMissing as exc:
        console.print(f"[yellow]skipped the local clusters:[/yellow] {escape(str(exc))}")
        raise typer.Exit(EXIT_USAGE) from None
    except (LocalKubeError, DesiredStateInvalid) as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(EXIT_USAGE) from None
    if dataplane:
        _run_dataplane(console, load.spec, chosen, state=state / "dataplane", repo=path, records=records)
    console.print(
        "Workloads stay [yellow]Degraded[/yellow] here by design: a local control plane has no nodes, so pods are "
        "never scheduled; everything else (server-side apply, inventory, prune, CRDs, RBAC) is real."
    )


def _run_dataplane(console: Console, spec: FleetSpec, region: str, *, state: Path, repo: Path, records: int) -> None:
    zone = next((z for z in spec.zones_in(region) if z.spec.models and not z.spec.paused), None)
    if zone is None:
        return
    console.print(
        f"\nrunning zone [bold]{escape(zone.name)}[/bold]'s data plane locally: region hub + zone nats-server, "
        f"JetStream assets, `edgeops serve` per stable model, {records} sensor records ..."
    )
    try:
        report = run_dataplane(
            spec, region, zone, state=state, models_root=(repo / "models").resolve(), records=records
        )
    except DataplaneError as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(EXIT_USAGE) from None
    table = Table(title=f"data plane of {escape(report.zone)} (NATS {report.nats_status})", title_justify="left")
    for column in ("model", "version", "sent", "results", "p50 ms", "p95 ms"):
        table.add_column(column)
    for run in report.runs:
        colour = "green" if run.results == run.sent else "red"
        table.add_row(
            escape(run.model),
            run.version,
            str(run.sent),
            f"[{colour}]{run.results}[/{colour}]",
            f"{run.p50_ms:.2f}",
            f"{run.p95_ms:.2f}",
        )
    console.print(table)
    for reason in report.skipped:
        console.print(f"[yellow]not run:[/yellow] {escape(reason)}")


def register(app: typer.Typer) -> None:
    from reconciler.cli.sandbox_demo import demo_command
    from reconciler.cli.sandbox_region import down_command, status_command, up_command

    group = typer.Typer(
        help="The product on this machine: a whole region from the template fleet.\n\n"
        "Exit codes: 0 done; 1 a part failed or is unhealthy; 2 usage or missing binaries.",
        no_args_is_help=True,
    )
    group.command("up", help="Bring a region up (state in .sandbox/); harmless when it runs already.")(up_command)
    group.command("status", help="Every part of the running region with its URL, pid and health.")(status_command)
    group.command(
        "demo",
        help="The whole loop on the running region (started when none runs): a canary PR → plan → merge → "
        "steps → promotion, then a slow version → rollback; exit 0 only if every step really happened.",
    )(demo_command)
    group.command("down", help="Stop every part, also after a killed `up`; remove .sandbox/.")(down_command)
    group.command("check", help="One-shot: validate, reconcile against local control planes, run a data plane.")(
        check_command
    )
    app.add_typer(group, name="sandbox")
