"""edgeops reconciler: load → render → plan → apply, the canary controller, the PR bot and the CLI.

Layers (enforced by import-linter, see pyproject.toml):

    reconciler.cli     command-line front end (typer)
    reconciler.app     orchestration: wires the pure core to the shells
    reconciler.shells  one module tree per external system (git, kube, nats, prometheus, forge)
    reconciler.core    pure: no sockets, clocks or randomness; immutable values
"""
