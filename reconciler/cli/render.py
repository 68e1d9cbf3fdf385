"""`edgeops render`: the Kubernetes objects of a region's zones, as YAML.

Exit codes: 0 rendered; 1 the desired state does not load or render (nothing written).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reconciler.cli.desired import load_or_exit
from reconciler.cli.options import EXIT_ERROR, Namespace, Region, RepoPath, Rev, ZoneOpt


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
