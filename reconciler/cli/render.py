"""`edgeops render`: the Kubernetes objects of a region's zones, as YAML.

Exit codes: 0 rendered; 1 the desired state does not load or render (nothing written); 2 a bad --reconciler-rbac
subject.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from reconciler.core.render import RenderedZone

from reconciler.cli.desired import load_or_exit
from reconciler.cli.options import EXIT_ERROR, EXIT_USAGE, Namespace, Region, RepoPath, Rev, ZoneOpt


def register(app: typer.Typer) -> None:
    app.command("render", help="Render a region's zones as YAML.\n\nExit codes: 0 rendered; 1 invalid desired state.")(
        render_command
    )


def render_command(
    *,
    region: Region,
    zone: ZoneOpt = None,
    rev: Rev = None,
    repo: RepoPath = Path("."),
    namespace: Namespace = "edgeops",
    out: Annotated[
        Path | None, typer.Option("--out", help="write one file per object under DIR/<zone>/ instead of stdout")
    ] = None,
    reconciler_rbac: Annotated[
        str | None,
        typer.Option(
            "--reconciler-rbac",
            metavar="SUBJECT",
            help="instead of the zones' objects, the reconciler's own least-privilege RBAC for SUBJECT "
            "(user:NAME, group:NAME or serviceaccount:NAMESPACE:NAME), for an administrator to apply once per zone",
        ),
    ] = None,
    lease_zone: Annotated[
        str | None,
        typer.Option("--lease-zone", help="with --reconciler-rbac: the zone whose cluster holds the region's Lease"),
    ] = None,
    lease_namespace: Annotated[
        str, typer.Option("--lease-namespace", help="with --reconciler-rbac: the namespace of the Lease")
    ] = "kube-system",
) -> None:
    """Render every zone of the region (or one) at a revision: one YAML document per object, in apply order."""
    from reconciler.app.reconcile import DesiredStateInvalid, render_desired
    from reconciler.core.render import RenderOptions

    load = load_or_exit(repo, rev)
    try:
        zones = render_desired(load, region, RenderOptions(namespace=namespace), zone)
    except DesiredStateInvalid as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(EXIT_ERROR) from error
    if reconciler_rbac is not None:
        _reconciler_rbac(zones, region, reconciler_rbac, lease_zone, lease_namespace)
        return
    for rendered in zones:
        for note in rendered.notes:
            typer.echo(f"note: zone {rendered.zone}: {note}", err=True)
        if out is None:
            for manifest in rendered:
                typer.echo(f"---\n# zone {rendered.zone}: {manifest.ref}\n{manifest.to_yaml()}", nl=False)
            continue
        folder = out / rendered.zone
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.yaml"):
            old.unlink()  # a stale file would look like an object that is still desired
        for index, manifest in enumerate(rendered, start=1):
            ref = manifest.ref
            (folder / f"{index:03d}-{ref.kind.lower()}-{ref.name}.yaml").write_text(manifest.to_yaml())
        typer.echo(f"{rendered.zone}: {len(rendered.manifests)} objects in {folder}")


def _reconciler_rbac(
    zones: tuple[RenderedZone, ...], region: str, subject: str, lease_zone: str | None, lease_namespace: str
) -> None:
    from reconciler.app.reconcile.wiring import lease_name
    from reconciler.core.render import parse_subject, reconciler_rbac, to_yaml

    try:
        who = parse_subject(subject)
    except ValueError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(EXIT_USAGE) from error
    for rendered in zones:
        lease = (lease_namespace, lease_name(region)) if rendered.zone == lease_zone else None
        for obj in reconciler_rbac(rendered.zone, rendered.namespace, who, lease):
            typer.echo(f"---\n# zone {rendered.zone}: reconciler RBAC\n{to_yaml(obj)}", nl=False)
