"""`edgeops reconcile`: the region loop (fetch, reconcile every zone, repeat), with leader election, `/metrics`,
OpenTelemetry spans and JSON logs; put together by `reconciler.app.reconcile.wiring`. With a hub (--nudge-nats,
or --nats) it also passes at once when nudged over NATS; its user comes from EDGEOPS_NUDGE_NATS_USER and
EDGEOPS_NUDGE_NATS_PASSWORD.

Exit codes: 0 stopped by SIGTERM/SIGINT (or, with --once, every zone Synced); 1 error (bad arguments, the
repository cannot be read, or the desired state is invalid with --once: nothing applied); 4 with --once, some
zone is not Synced.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from reconciler.cli.options import (
    EXIT_ERROR,
    DrainTimeout,
    Kubeconfig,
    Namespace,
    Region,
    TrustedKeys,
    duration_seconds,
    kubeconfig_path,
)

EXIT_NOT_SYNCED = 4


def register(app: typer.Typer) -> None:
    app.command(
        "reconcile",
        help="Run the region loop.\n\nExit codes: 0 stopped (or --once and all Synced); 1 error; 4 --once and some zone not Synced.",
    )(reconcile_command)


def reconcile_command(
    *,
    region: Region,
    repo: Annotated[str, typer.Option("--repo", help="clone URL or path of the fleet repository")],
    branch: Annotated[str, typer.Option("--branch", help="branch to follow")] = "main",
    interval: Annotated[str, typer.Option("--interval", help="time between passes, e.g. 30s, 5m")] = "30s",
    once: Annotated[bool, typer.Option("--once", help="one pass, then exit with the zones' outcome")] = False,
    kubeconfig: Kubeconfig = None,
    namespace: Namespace = "edgeops",
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", min=1, help="zones at once (default: fleet.yaml)")
    ] = None,
    health_timeout: Annotated[
        float, typer.Option("--health-timeout", help="seconds to wait for workloads per pass")
    ] = 60.0,
    metrics_port: Annotated[int, typer.Option("--metrics-port", help="port for /metrics (0: off)")] = 9465,
    metrics_host: Annotated[str, typer.Option("--metrics-host", help="address /metrics listens on")] = "127.0.0.1",
    leader_elect: Annotated[
        bool, typer.Option("--leader-elect/--no-leader-elect", help="act only while holding the region's Lease")
    ] = True,
    lease_context: Annotated[
        str | None,
        typer.Option("--lease-context", help="kubeconfig context of the cluster holding the Lease (default: current)"),
    ] = None,
    lease_namespace: Annotated[str, typer.Option("--lease-namespace", help="namespace of the Lease")] = "kube-system",
    identity: Annotated[str | None, typer.Option("--identity", help="this replica's name in the Lease")] = None,
    cache_dir: Annotated[
        Path | None,
        typer.Option("--cache-dir", help="where the repository clone is kept (default: ~/.cache/edgeops/repos)"),
    ] = None,
    nats: Annotated[
        str | None,
        typer.Option("--nats", help="client URL of the region's NATS hub: also apply every zone's JetStream assets"),
    ] = None,
    allow_stream_delete: Annotated[
        bool, typer.Option("--allow-stream-delete", help="with --nats: delete streams that still hold messages")
    ] = False,
    drain_timeout: DrainTimeout = "5m",
    nudge_nats: Annotated[
        str | None,
        typer.Option(
            "--nudge-nats",
            help="NATS hub URL to listen on for nudges (a pass at once after a merge); default: the --nats hub",
        ),
    ] = None,
    nudges: Annotated[
        bool, typer.Option("--nudges/--no-nudges", help="listen for nudges (needs --nudge-nats or --nats)")
    ] = True,
    trusted_keys: TrustedKeys = None,
    prometheus: Annotated[
        str | None,
        typer.Option(
            "--prometheus", help="Prometheus URL: failed model pulls (spec.notifications) and the page's charts"
        ),
    ] = None,
    page: Annotated[
        bool, typer.Option("--page/--no-page", help="serve the read-only fleet page on / beside /metrics")
    ] = False,
) -> None:
    """Follow the repository and keep every zone of the region at its desired state."""
    from reconciler.app.gitops import nudge_endpoint
    from reconciler.app.nats import NatsOptions
    from reconciler.app.notify import Notifier, NotifyMetrics, ZoneWatch
    from reconciler.app.reconcile import ApplyOptions, LoopMetrics, ReconcilerSettings, RegionOptions, run_reconciler
    from reconciler.core.plan import ZoneStatus
    from reconciler.core.render import RenderOptions
    from reconciler.shells.kube import KubeConfigError
    from reconciler.shells.nats import NatsEndpoint

    interval_s, drain_timeout_s = (
        duration_seconds(interval, "--interval"),
        duration_seconds(drain_timeout, "--drain-timeout"),
    )
    nudge_hub = nudge_nats or nats
    metrics = LoopMetrics(region)
    notifier = Notifier(
        region,
        hub=nudge_endpoint(nudge_hub) if nudge_hub is not None else None,
        metrics=NotifyMetrics(metrics.registry),
    )
    settings = ReconcilerSettings(
        region=region,
        repo=repo,
        branch=branch,
        interval_s=interval_s,
        region_options=RegionOptions(
            kubeconfig=kubeconfig_path(kubeconfig),
            render=RenderOptions(namespace=namespace),
            apply=ApplyOptions(health_timeout_s=health_timeout),
            concurrency=concurrency,
            nats=NatsOptions(
                NatsEndpoint(nats),
                allow_stream_delete=allow_stream_delete,
                drain_timeout_s=drain_timeout_s,
            )
            if nats is not None
            else None,
        ),
        leader_elect=leader_elect,
        lease_context=lease_context,
        lease_namespace=lease_namespace,
        identity=identity,
        cache_dir=cache_dir,
        trusted_keys=tuple(trusted_keys or ()),
        metrics_port=metrics_port,
        metrics_host=metrics_host,
        nudge_hub=nudge_endpoint(nudge_hub) if nudges and nudge_hub is not None else None,
        after_pass=ZoneWatch(notifier, prometheus=prometheus).after_pass,
        metrics=metrics,
        page=_page(region, repo, branch, cache_dir, kubeconfig, namespace, prometheus) if page else None,
    )
    try:
        loop = run_reconciler(settings, once=once)
    except KubeConfigError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(EXIT_ERROR) from error
    finally:
        notifier.flush(10.0)  # what the last pass announced, before the process ends
    if once:
        if loop.last_error is not None:
            typer.echo(f"error: {loop.last_error}", err=True)
            raise typer.Exit(EXIT_ERROR)
        for result in loop.results.values():
            typer.echo(result.line())
        if any(r.status is not ZoneStatus.SYNCED for r in loop.results.values()):
            raise typer.Exit(EXIT_NOT_SYNCED)


def _page(
    region: str,
    repo: str,
    branch: str,
    cache_dir: Path | None,
    kubeconfig: Path | None,
    namespace: str,
    prometheus: str | None,
) -> Callable[[], str]:
    """The fleet page as the loop sees it: the branch in the loop's own clone, every zone the kubeconfig reaches."""
    from reconciler.app.fleetview import PageSources, StatusOptions, fleet_page
    from reconciler.app.reconcile import clone_path, repo_url

    url = repo_url(repo)
    sources = PageSources(
        repo=clone_path(cache_dir, region, url),
        rev=f"origin/{branch}",
        status=StatusOptions(kubeconfig=kubeconfig_path(kubeconfig), namespace=namespace, prometheus=prometheus),
    )
    return lambda: fleet_page(sources, datetime.now(UTC))
