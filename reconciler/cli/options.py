"""The options more than one command takes, each defined once, the exit codes every command shares, and
`option_group`, which lets a set of options several commands take be declared once as a dataclass.

Imports nothing below the CLI at module level (`duration_seconds` reads durations with the spec's parser when called),
so that `edgeops serve` (installed with the runtime extra only) can use it.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import os
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2

# Which part of the fleet: render, plan, apply, reconcile, canary.
Region = Annotated[str, typer.Option("--region", help="the region whose zones to act on")]
ZoneOpt = Annotated[str | None, typer.Option("--zone", help="only this zone of the region")]
Rev = Annotated[
    str | None, typer.Option("--rev", help="git revision to read (SHA, branch, HEAD); default: the working tree")
]
RepoPath = Annotated[Path, typer.Option("--repo", help="the fleet repository (working tree)")]
Namespace = Annotated[str, typer.Option("--namespace", help="namespace edgeops uses in every zone")]
Kubeconfig = Annotated[
    Path | None,
    typer.Option("--kubeconfig", help="kubeconfig holding a context per zone (default: $KUBECONFIG)"),
]
DrainTimeout = Annotated[
    str,
    typer.Option(
        "--drain-timeout",
        help="with --nats: how long a removed track's consumer may hold records without progress before they"
        " are abandoned and it is deleted, e.g. 5m",
    ),
]
TrustedKeys = Annotated[
    list[Path] | None,
    typer.Option(
        "--trusted-keys",
        help="allowed-signers or OpenPGP key file on this host: apply only commits signed by its keys, whatever the "
        "repository says (repeatable; adds to fleet.yaml's spec.git.verify keys)",
    ),
]
# The PR bot reads no $KUBECONFIG: without this option it plans by rendering against the base branch.
BotKubeconfig = Annotated[
    Path | None,
    typer.Option(
        "--kubeconfig", help="plan against live clusters with this kubeconfig (default: render against the base)"
    ),
]

# Which repository the bot acts on, on which forge: `edgeops bot ...` and `edgeops canary run`.
Repository = Annotated[
    str | None, typer.Option("--repository", help="owner/name on the forge (default: $GITHUB_REPOSITORY)")
]
GitHubUrl = Annotated[
    str | None,
    typer.Option("--github-url", help="GitHub Enterprise base URL (default: $EDGEOPS_GITHUB_URL; unset: github.com)"),
]
CloneUrl = Annotated[
    str | None, typer.Option("--clone-url", help="git URL or path to clone (default: <server>/<owner>/<name>.git)")
]
Workdir = Annotated[
    Path | None, typer.Option("--workdir", help="where the bot keeps its bare clone (default: under $EDGEOPS_CACHE)")
]
Base = Annotated[str, typer.Option("--base", help="the branch the fleet is deployed from")]
RequireCheck = Annotated[
    list[str] | None,
    typer.Option(
        "--require-check", help="status context that must be green before a step or promotion merges (repeatable)"
    ),
]


def kubeconfig_path(value: Path | None) -> Path | None:
    if value is not None:
        return value
    env = os.environ.get("KUBECONFIG", "").split(os.pathsep)[0]
    return Path(env) if env else None


R = TypeVar("R")


def option_group(name: str, group: type[Any]) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """Let a command take the dataclass `group` as its parameter `name`.

    Typer sees the dataclass's fields — each annotated with its option, with its default — as the command's own
    options, in the place of `name`; the command is called with them gathered into one `group` value. So options
    that several commands take are declared once and resolved in one place.
    """
    fields = dataclasses.fields(group)
    hints = typing.get_type_hints(group, include_extras=True)

    def decorate(command: Callable[..., R]) -> Callable[..., R]:
        signature = inspect.signature(command, eval_str=True)
        if name not in signature.parameters:
            raise TypeError(f"{command.__name__} takes no parameter {name!r} for its {group.__name__}")
        params: list[inspect.Parameter] = []
        for param in signature.parameters.values():
            if param.name != name:
                params.append(param.replace(kind=inspect.Parameter.KEYWORD_ONLY))
                continue
            params += [
                inspect.Parameter(
                    field.name,
                    inspect.Parameter.KEYWORD_ONLY,
                    default=inspect.Parameter.empty if field.default is dataclasses.MISSING else field.default,
                    annotation=hints[field.name],
                )
                for field in fields
            ]
        names = [p.name for p in params]
        if len(set(names)) != len(names):
            raise TypeError(f"{command.__name__}: an option of its {group.__name__} clashes with one of its own")

        @functools.wraps(command)
        def run(**values: Any) -> R:
            gathered = group(**{field.name: values.pop(field.name) for field in fields})
            return command(**values, **{name: gathered})

        run.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in params} | {"return": signature.return_annotation}
        return run

    return decorate


def duration_seconds(text: str, option: str) -> float:
    """A positive duration such as '30s' or '5m', in seconds; a usage error naming `option` and the value
    otherwise."""
    from datetime import timedelta

    from reconciler.core.spec import parse_duration

    try:
        value = parse_duration(text)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint=f"'{option}'") from error
    if not isinstance(value, timedelta) or value.total_seconds() <= 0:
        raise typer.BadParameter(f"{text!r} is not a positive duration such as '30s' or '5m'", param_hint=f"'{option}'")
    return value.total_seconds()
