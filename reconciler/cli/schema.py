"""`edgeops schema`: write the JSON Schemas editors use to complete and check the YAML."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reconciler.core.spec import json_schemas


def schema(
    out: Annotated[Path, typer.Option("--out", help="folder to write into")] = Path("fleet/schemas"),
    check: Annotated[bool, typer.Option("--check", help="only report whether the files are current")] = False,
) -> None:
    """Write fleet/schemas/*.schema.json (template files reference them in their first line).

    Exit status: 0 written or current, 1 out of date (with --check), 2 I/O error.
    """
    stale: list[str] = []
    for name, text in json_schemas().items():
        target = out / name
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if current == text:
            continue
        stale.append(str(target))
        if not check:
            try:
                out.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
            except OSError as exc:
                typer.echo(f"error: cannot write {target}: {exc}", err=True)
                raise typer.Exit(2) from None
    if check and stale:
        typer.echo("out of date: " + ", ".join(stale) + " (run: edgeops schema)")
        raise typer.Exit(1)
    typer.echo(("wrote " + ", ".join(stale)) if stale else "schemas are current")


def register(app: typer.Typer) -> None:
    app.command("schema")(schema)
