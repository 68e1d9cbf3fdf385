"""The `edgeops` command: one typer application, each command group in its own module."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="edgeops",
    help="GitOps for edge AI inference fleets.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    # Command modules register themselves on `app`; importing them here keeps start-up explicit.
    pass


def main() -> None:
    _register()
    app()
