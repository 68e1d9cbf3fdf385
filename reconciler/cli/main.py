"""The `edgeops` command: one typer application; each command group lives in its own module and is added by
`_register` (a module exposes `register(app)`)."""

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
    # One line per command module, imported here so start-up stays explicit and cheap.
    from reconciler.cli import model, sandbox, schema, serve, validate

    validate.register(app)
    schema.register(app)
    sandbox.register(app)
    model.register(app)
    serve.register(app)
    from reconciler.cli import apply, plan, reconcile, render

    render.register(app)
    plan.register(app)
    apply.register(app)
    reconcile.register(app)
    from reconciler.cli import bot, canary

    canary.register(app)
    bot.register(app)


_register()


def main() -> None:
    app()
