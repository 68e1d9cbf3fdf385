"""`edgeops apply`: one region pass (`reconciler.app.reconcile.apply_region`, the pass the region loop runs) over a
region's zones: staged server-side apply, and with `--nats` each zone's JetStream assets through the hub.

Exit codes: 0 every zone Synced; 1 error (desired state invalid, or a revision not signed by a trusted key when the
fleet asks for signed commits: nothing applied anywhere); 4 some zone is not Synced (OutOfSync, Progressing,
Degraded or Unreachable; the table says which and why).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reconciler.cli.desired import load_or_exit
from reconciler.cli.options import (
    EXIT_ERROR,
    DrainTimeout,
    Kubeconfig,
    Namespace,
    Region,
    RepoPath,
    Rev,
    TrustedKeys,
    ZoneOpt,
    duration_seconds,
    kubeconfig_path,
)
from reconciler.core.load import LoadResult

EXIT_NOT_SYNCED = 4


def register(app: typer.Typer) -> None:
    app.command(
        "apply",
        help="Apply a region's desired state to its zones.\n\n"
        "Exit codes: 0 all zones Synced; 1 invalid desired state (nothing applied); 4 some zone not Synced.",
    )(apply_command)


def apply_command(
    *,
    region: Region,
    zone: ZoneOpt = None,
    rev: Rev = None,
    repo: RepoPath = Path("."),
    namespace: Namespace = "edgeops",
    kubeconfig: Kubeconfig = None,
    prune: Annotated[bool, typer.Option("--prune/--no-prune", help="delete objects no longer desired")] = True,
    adopt: Annotated[bool, typer.Option("--adopt", help="take over objects with our names that are not ours")] = False,
    health_timeout: Annotated[
        float,
        typer.Option("--health-timeout", help="seconds to wait for Deployments and StatefulSets to become available"),
    ] = 120.0,
    nats: Annotated[
        str | None,
        typer.Option("--nats", help="client URL of the region's NATS hub: also apply every zone's JetStream assets"),
    ] = None,
    allow_stream_delete: Annotated[
        bool, typer.Option("--allow-stream-delete", help="delete or recreate JetStream streams that hold messages")
    ] = False,
    drain_timeout: DrainTimeout = "5m",
    trusted_keys: TrustedKeys = None,
) -> None:
    """Plan, apply in stages (namespaces, CRD kinds and RBAC; config; workloads), prune, and wait for health."""
    import asyncio

    from reconciler.app.nats import NatsOptions
    from reconciler.app.reconcile import (
        ApplyOptions,
        DesiredStateInvalid,
        RegionOptions,
        apply_region,
        repository_history,
    )
    from reconciler.core.plan import ZoneStatus, format_text
    from reconciler.core.render import RenderOptions
    from reconciler.shells.nats import NatsEndpoint

    drain_timeout_s = duration_seconds(drain_timeout, "--drain-timeout")
    load = load_or_exit(repo, rev)
    _refuse_unverified(repo, rev, load, tuple(trusted_keys or ()))
    options = RegionOptions(
        kubeconfig=kubeconfig_path(kubeconfig),
        render=RenderOptions(namespace=namespace),
        apply=ApplyOptions(prune=prune, adopt=adopt, health_timeout_s=health_timeout),
        nats=NatsOptions(NatsEndpoint(nats), allow_stream_delete=allow_stream_delete, drain_timeout_s=drain_timeout_s)
        if nats is not None
        else None,
    )
    try:
        done = asyncio.run(apply_region(load, region, options, zone, history=repository_history(repo)))
    except DesiredStateInvalid as error:
        typer.echo(f"error: {error}; nothing was applied", err=True)
        raise typer.Exit(EXIT_ERROR) from error
    typer.echo(format_text([r.plan for r in done.zones], diffs=False), nl=False)
    for result in done.zones:
        typer.echo(result.line())
    nats_degraded = False
    for outcome in (*done.nats, *([done.hub] if done.hub is not None else [])):
        typer.echo(
            f"nats {outcome.zone}: {outcome.status.value} ({outcome.changes.summary()})"
            + (f": {outcome.error}" if outcome.error else "")
        )
        for change in outcome.blocked:
            typer.echo(f"  blocked {change.ref}: {change.detail}")
        nats_degraded = nats_degraded or outcome.degraded or bool(outcome.blocked)
    if nats_degraded or any(r.status is not ZoneStatus.SYNCED for r in done.zones):
        raise typer.Exit(EXIT_NOT_SYNCED)


def _refuse_unverified(repo: Path, rev: str | None, load: LoadResult, trusted_keys: tuple[Path, ...]) -> None:
    """With signed commits asked for (fleet.yaml or --trusted-keys), only a revision the region loop would apply is
    applied; a working tree, which no signature covers, never is."""
    from reconciler.app.reconcile import root_policy, verify_revision
    from reconciler.shells.git import GitError

    assert load.spec is not None
    required = bool(trusted_keys) or load.spec.fleet.spec.git.verify is not None
    if rev is None:
        if required:
            typer.echo(
                "error: the fleet asks for signed commits and a working tree carries no signature: "
                "apply a signed commit with --rev; nothing was applied",
                err=True,
            )
            raise typer.Exit(EXIT_ERROR)
        return
    try:
        decision = verify_revision(repo, rev, root_policy(trusted_keys))
    except GitError as error:
        typer.echo(f"error: {error}; nothing was applied", err=True)
        raise typer.Exit(EXIT_ERROR) from error
    if not decision.accepted:
        typer.echo(
            f"error: revision {decision.tip[:12]} is not signed by a trusted key ({decision.verification.detail}); "
            "nothing was applied",
            err=True,
        )
        raise typer.Exit(EXIT_ERROR)
