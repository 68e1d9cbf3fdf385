"""The `edgeops` command: one typer application; each command lives in its own module `reconciler.cli.<name>`,
which exposes `register(app)`, and is imported only when that command (or the command list) is needed.

Importing lazily keeps `edgeops serve` free of the reconciler's dependencies (pyyaml, kubernetes, pygit2, ...), so
the runtime image installs only the `runtime` extra. In such an install the reconciler's commands stay listed and
say which extra they need instead of failing with a traceback."""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping
from typing import TYPE_CHECKING, Any

import typer
import typer.main
from typer.core import TyperGroup

if TYPE_CHECKING:
    from typer._click import Command

# In the order `edgeops --help` lists them.
COMMANDS = (
    "validate",
    "schema",
    "sandbox",
    "serve",
    "render",
    "plan",
    "apply",
    "status",
    "reconcile",
    "model",
    "canary",
    "bot",
)
EXIT_UNAVAILABLE = 2
_OWN_PACKAGES = frozenset({"reconciler", "runtime"})


def _typer(**settings: Any) -> typer.Typer:
    return typer.Typer(add_completion=False, pretty_exceptions_enable=False, **settings)


def _load(name: str) -> Command:
    try:
        module = importlib.import_module(f"reconciler.cli.{name}")
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] in _OWN_PACKAGES:
            raise
        return _unavailable(name, exc)
    scratch = _typer()
    module.register(scratch)
    return typer.main.get_group(scratch).commands[name]


def _unavailable(name: str, missing: ModuleNotFoundError) -> Command:
    reason = f"module {missing.name!r} is missing"

    def refuse() -> None:
        typer.echo(f"edgeops {name} needs the reconciler extra (pip install 'edgeops[reconciler]'): {reason}", err=True)
        raise typer.Exit(EXIT_UNAVAILABLE)

    scratch = _typer()
    scratch.command(
        name,
        # No square brackets: help text is rich markup.
        help=f"Unavailable here: needs the reconciler extra ({reason}).",
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )(refuse)
    return typer.main.get_group(scratch).commands[name]


class _LazyCommands(MutableMapping[str, "Command"]):
    """The command table: every name is known up front; a command's module is imported on first lookup."""

    def __init__(self, loaded: MutableMapping[str, Command]) -> None:
        self._loaded = loaded

    def __getitem__(self, name: str) -> Command:
        if name not in self._loaded:
            if name not in COMMANDS:
                raise KeyError(name)
            self._loaded[name] = _load(name)
        return self._loaded[name]

    def __setitem__(self, name: str, command: Command) -> None:
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        del self._loaded[name]

    def __contains__(self, name: object) -> bool:
        # Without importing: "Did you mean ...?" suggestions and membership tests must stay cheap.
        return name in COMMANDS or name in self._loaded

    def __iter__(self) -> Iterator[str]:
        yield from COMMANDS
        yield from (name for name in self._loaded if name not in COMMANDS)

    def __len__(self) -> int:
        return len(set(COMMANDS) | set(self._loaded))


class _LazyGroup(TyperGroup):
    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = _LazyCommands(self.commands)


app = _typer(name="edgeops", help="GitOps for edge AI inference fleets.", no_args_is_help=True, cls=_LazyGroup)


@app.callback()
def _root() -> None:
    # Present so that typer builds a group; the commands themselves come from COMMANDS.
    pass


def main() -> None:
    app()


if __name__ == "__main__":  # `python -m reconciler.cli.main`, where no `edgeops` script is installed
    main()
