"""`edgeops serve`: run the edge inference runtime (the `runtime` package) from a rendered runtime.json."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Annotated

import typer

from reconciler.cli.options import EXIT_ERROR, EXIT_USAGE


def serve_command(
    config: Annotated[
        Path, typer.Option("--config", "-c", help="runtime.json rendered by the reconciler (a ConfigMap).")
    ],
    log_level: Annotated[str, typer.Option(help="debug | info | warning | error")] = "info",
) -> None:
    """Serve the configured models: JetStream (and MQTT 5) in, scores out, exactly one result per input.

    Endpoints on metrics_port: /metrics, /healthz, /readyz. Tracing: the standard OTEL_* variables.
    SIGTERM drains in-flight work and exits 0. Exit codes: 0 clean shutdown, 1 runtime failure,
    2 invalid or unreadable config.
    """
    from runtime import ConfigError, load_runtime_config
    from runtime.service import serve

    logging.basicConfig(
        level=getattr(logging, log_level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    try:
        load_runtime_config(config)
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(EXIT_USAGE) from exc
    try:
        code = asyncio.run(serve(config))
    except Exception as exc:
        logging.getLogger("edgeops.runtime").exception("runtime failed: %s", exc)
        raise typer.Exit(EXIT_ERROR) from exc
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
