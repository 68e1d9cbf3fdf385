"""`python -m runtime serve --config runtime.json`: the same service as `edgeops serve`, without the reconciler's
command-line application (and its dependencies) in the image. Exit codes: 0 clean shutdown, 1 runtime
failure, 2 invalid or unreadable config."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from runtime.config import ConfigError, load_runtime_config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m runtime", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser("serve", help="serve the models in runtime.json")
    serve_parser.add_argument("--config", "-c", type=Path, required=True)
    serve_parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, str(args.log_level).upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    try:
        load_runtime_config(args.config)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    from runtime.service import serve

    try:
        return asyncio.run(serve(args.config))
    except Exception:
        logging.getLogger("edgeops.runtime").exception("runtime failed")
        return 1


if __name__ == "__main__":
    sys.exit(main())
