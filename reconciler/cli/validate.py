"""`edgeops validate`: load the desired state and report every problem, positioned, in one of three formats."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from reconciler.app.desired import load_desired
from reconciler.cli import options
from reconciler.cli.options import Rev
from reconciler.core.load import LoadResult, Problem, Severity
from reconciler.shells.tree import TreeReadError

# validate's names for the shared exit codes (the sandbox reports a desired state with them too)
EXIT_VALID, EXIT_INVALID, EXIT_USAGE = options.EXIT_OK, options.EXIT_ERROR, options.EXIT_USAGE


class OutputFormat(StrEnum):
    TEXT = "text"
    JSON = "json"
    GITHUB = "github"


def _github_escape(text: str, *, property_value: bool = False) -> str:
    """Workflow-command escaping, so a message cannot smuggle in a second command."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_value:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def github_annotation(problem: Problem) -> str:
    level = "error" if problem.severity is Severity.ERROR else "warning"
    props = [f"file={_github_escape(problem.file, property_value=True)}"]
    if problem.line:
        props += [f"line={problem.line}", f"col={problem.column}"]
    props.append(f"title={_github_escape(problem.code, property_value=True)}")
    return f"::{level} {','.join(props)}::{_github_escape(problem.message)}"


def problem_json(problem: Problem) -> dict[str, object]:
    return {
        "file": problem.file,
        "line": problem.line,
        "column": problem.column,
        "code": problem.code,
        "severity": problem.severity.value,
        "message": problem.message,
    }


def summary(result: LoadResult) -> str:
    if result.spec is None:
        return f"invalid: {len(result.errors)} error(s), {len(result.warnings)} warning(s)"
    spec = result.spec
    canaries = sum(1 for z in spec.zones for a in z.spec.models if a.canary is not None)
    return (
        f"valid: {len(spec.fleet.spec.regions)} regions, {len(spec.zones)} zones, {len(spec.models)} models, "
        f"{len(spec.policies)} canary policies, {canaries} canaries in progress"
        + (f" ({len(result.warnings)} warning(s))" if result.warnings else "")
    )


def _print_text(result: LoadResult, console: Console) -> None:
    for problem in result.problems:
        colour = "red" if problem.severity is Severity.ERROR else "yellow"
        console.print(
            f"[bold]{escape(problem.location())}[/bold]: [{colour}]{problem.severity.value}[/{colour}]"
            f"[dim]\\[{escape(problem.code)}][/dim] {escape(problem.message)}",
            highlight=False,
            soft_wrap=True,
        )
    colour = "green" if result.ok else "red"
    console.print(f"[{colour}]{escape(summary(result))}[/{colour}]", highlight=False)


def validate(
    path: Annotated[Path, typer.Argument(help="repository root (default: current directory)")] = Path("."),
    rev: Rev = None,
    output: Annotated[OutputFormat, typer.Option("--format", "-f", help="text, json, or GitHub annotations")] = (
        OutputFormat.TEXT
    ),
) -> None:
    """Check fleet/, zones/ and models/: YAML safety, schemas, cross-references, compatibility and secrets.

    Exit status: 0 valid (warnings allowed), 1 invalid, 2 usage or I/O error.
    """
    try:
        result = load_desired(path, rev)
    except TreeReadError as exc:
        Console(stderr=True).print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(EXIT_USAGE) from None
    if output is OutputFormat.JSON:
        payload = {
            "valid": result.ok,
            "revision": result.revision,
            "summary": summary(result),
            "problems": [problem_json(p) for p in result.problems],
        }
        typer.echo(json.dumps(payload, indent=2))
    elif output is OutputFormat.GITHUB:
        for problem in result.problems:
            typer.echo(github_annotation(problem))
        typer.echo(summary(result))
    else:
        _print_text(result, Console())
    raise typer.Exit(EXIT_VALID if result.ok else EXIT_INVALID)


def register(app: typer.Typer) -> None:
    app.command("validate")(validate)
