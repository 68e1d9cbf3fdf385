"""`edgeops canary analyze|run`: judge every canary of a region from Prometheus; `run` also acts through pull
requests (steps, promotions, rollbacks), once or in a loop.

Exit codes: 0 done; 1 error (repository, Prometheus client setup, forge or git failure); 2 usage.
A canary that cannot be measured is a hold, not an error.
"""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from reconciler.app.canary import (
    Analysis,
    AnalyzeOptions,
    ControllerMetrics,
    ControllerPass,
    analyze_region,
    controller_pass,
)
from reconciler.app.desired import load_desired
from reconciler.app.gitops import Proposal, nudge_endpoint, nudge_merged
from reconciler.app.notify import Notifier, NotifyMetrics, canary_events
from reconciler.cli.gitops import GITOPS_ERRORS, RepositoryOptions, guarded
from reconciler.cli.options import EXIT_ERROR, EXIT_USAGE, Region, RepoPath, RequireCheck, Rev, option_group
from reconciler.core.canary import CanaryGroup
from reconciler.core.spec import parse_duration
from reconciler.shells.prometheus import Prometheus

PrometheusUrl = Annotated[str, typer.Option("--prometheus", help="Prometheus base URL, e.g. http://prometheus:9090")]
Window = Annotated[
    str | None, typer.Option("--window", help="analysis window (default: the policy's analysisInterval)")
]
IgnoreWindows = Annotated[
    bool, typer.Option("--ignore-maintenance-windows", help="advance/promote outside maintenance windows too")
]


def _duration(text: str | None) -> timedelta | None:
    if text is None:
        return None
    try:
        value = parse_duration(text)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error
    assert isinstance(value, timedelta)
    return value


@dataclass(frozen=True)
class CanaryOptions:
    """What both canary commands take: the region, where to measure, and how to judge."""

    region: Region
    prometheus: PrometheusUrl
    window: Window = None
    ignore_maintenance_windows: IgnoreWindows = False

    def analyze_options(self) -> AnalyzeOptions:
        return AnalyzeOptions(
            window=_duration(self.window), respect_maintenance_windows=not self.ignore_maintenance_windows
        )


def _line(a: Analysis) -> str:
    return f"{a.group.model} {a.group.version} in {','.join(a.group.zones)}: {a.verdict.summary()}"


def _json(a: Analysis) -> dict[str, object]:
    v = a.verdict
    return {
        "model": a.group.model,
        "version": a.group.version,
        "zones": list(a.group.zones),
        "decision": v.decision.value,
        "reason": v.reason,
        "holdReason": v.hold_reason and v.hold_reason.value,
        "nextWeight": v.next_weight,
        "evidence": [
            {
                "zone": e.zone,
                "status": e.status.value,
                "failures": list(e.failures),
                "canaryP95Ms": e.canary and e.canary.p95_latency_ms,
                "requests": e.canary and e.canary.requests,
                "errorRatePercent": e.canary and e.canary.error_rate_percent,
                "queries": dict(e.queries),
            }
            for e in v.evidence
        ],
    }


@guarded
@option_group("canary", CanaryOptions)
def analyze_command(
    canary: CanaryOptions,
    *,
    repo: RepoPath = Path("."),
    rev: Rev = None,
    output: Annotated[str, typer.Option("--format", help="text | json")] = "text",
) -> None:
    if output not in ("text", "json"):
        raise typer.BadParameter("--format is text or json")
    load = load_desired(repo, rev)
    if load.spec is None:
        for problem in load.errors:
            typer.echo(str(problem), err=True)
        raise typer.Exit(EXIT_ERROR)
    options = canary.analyze_options()
    results = analyze_region(load.spec, canary.region, Prometheus(canary.prometheus), datetime.now(UTC), options)
    if output == "json":
        typer.echo(json.dumps([_json(a) for a in results], indent=2))
    else:
        for a in results:
            typer.echo(_line(a))
        if not results:
            typer.echo(f"no active canary in region {canary.region}")


@guarded
@option_group("target", RepositoryOptions)
@option_group("canary", CanaryOptions)
def run_command(
    canary: CanaryOptions,
    target: RepositoryOptions,
    *,
    require_check: RequireCheck = None,
    interval: Annotated[str, typer.Option("--interval", help="time between analyses in the loop")] = "60s",
    once: Annotated[bool, typer.Option("--once", help="one analysis, then exit (for scheduled workflows)")] = False,
    metrics_port: Annotated[
        int, typer.Option("--metrics-port", help="serve /metrics on 127.0.0.1:PORT while looping (0: off)")
    ] = 9466,
    nudge_nats: Annotated[
        str | None, typer.Option("--nudge-nats", help="NATS hub URL: nudge the region's reconciler after a merge")
    ] = None,
) -> None:
    hub = nudge_endpoint(nudge_nats) if nudge_nats is not None else None
    nudge: Callable[[CanaryGroup, Proposal], None] | None = None
    if hub is not None:
        nudge = lambda _group, proposal: typer.echo(f"  {nudge_merged(hub, canary.region, proposal)}")  # noqa: E731

    bot = target.open(require_check)
    prom = Prometheus(canary.prometheus)
    options = canary.analyze_options()
    pause = _duration(interval)
    if pause is None or pause.total_seconds() <= 0:
        raise typer.Exit(EXIT_USAGE)
    metrics = ControllerMetrics(canary.region)
    notifier = Notifier(canary.region, hub=hub, metrics=NotifyMetrics(metrics.registry))
    server = metrics.serve(metrics_port) if metrics_port and not once else None
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        while True:
            failed = False
            try:
                done = controller_pass(
                    bot, prom, canary.region, now=datetime.now(UTC), options=options, metrics=metrics, on_merged=nudge
                )
            except GITOPS_ERRORS as error:
                typer.echo(f"error: {error}", err=True)
                failed = True
            else:
                _report(done, bot.base, notifier)
                failed = done.failed
            if once and failed:
                raise typer.Exit(EXIT_ERROR)
            if once or stop.wait(pause.total_seconds()):
                return
    finally:
        notifier.flush(10.0)
        if server is not None:
            server.shutdown()
            server.server_close()


def _report(done: ControllerPass, base: str, notifier: Notifier) -> None:
    """Print a controller pass's outcomes and announce its rollbacks and promotions."""
    if done.problems:
        typer.echo(f"{base} does not load; nothing done: " + "; ".join(done.problems[:3]), err=True)
    for outcome in done.outcomes:
        typer.echo(outcome.line(), err=outcome.error is not None)
    if done.notifications is not None:
        notifier.send(done.notifications, canary_events(notifier.region, done.outcomes, datetime.now(UTC)))


def register(app: typer.Typer) -> None:
    canary = typer.Typer(
        help="Canary analysis and the pull requests that move canaries.\n\nExit codes: 0 done; 1 error; 2 usage.",
        no_args_is_help=True,
    )
    canary.command(
        "analyze",
        help="Measure and judge every canary of a region; print the verdicts.\n\n"
        "Exit codes: 0 done; 1 the repository does not load; 2 usage.",
    )(analyze_command)
    canary.command(
        "run",
        help="Analyse and act: open/update/merge step, promotion and rollback PRs.\n\n"
        "Exit codes: 0 done (or stopped); 1 forge/git error with --once; 2 usage.",
    )(run_command)
    app.add_typer(canary, name="canary")
