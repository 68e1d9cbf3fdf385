"""`python -m reconciler.sandbox.region run --template DIR --state DIR --region R [--zone Z ...]`: the supervisor
(what `edgeops sandbox up` spawns; see `supervisor.py`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from reconciler.sandbox.region.layout import Layout
from reconciler.sandbox.region.supervisor import RegionRequest, main

if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m reconciler.sandbox.region")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="bring the region up and keep it up until SIGTERM")
    run.add_argument("--template", type=Path, required=True)
    run.add_argument("--state", type=Path, required=True)
    run.add_argument("--region", required=True)
    run.add_argument("--zone", action="append", default=[])
    run.add_argument("--records-per-s", type=float, default=5.0)
    args = parser.parse_args()
    request = RegionRequest(
        template=args.template.resolve(),
        layout=Layout(args.state.resolve()),
        region=args.region,
        zones=tuple(args.zone),
        records_per_s=args.records_per_s,
    )
    sys.exit(main(request))
