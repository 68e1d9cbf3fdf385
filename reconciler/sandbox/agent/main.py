"""`python -m reconciler.sandbox.agent`: the agent as a process of its own (what `edgeops sandbox up` starts).

    python -m reconciler.sandbox.agent run --kubeconfig K --context ZONE --fleet REPO --zone ZONE --state DIR \\
        [--service nats.edgeops.svc:4222=127.0.0.1:4222 ...]
    python -m reconciler.sandbox.agent run ... --node NAME=arch[,pool]      # Nodes given instead of a fleet's zone
    python -m reconciler.sandbox.agent cleanup --state DIR                  # stop what a killed agent left running

`run` stops its processes and exits 0 on SIGTERM or SIGINT. Exit codes: 0 done, 1 the zone or fleet could not be
used, 2 usage.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from reconciler.core.render.labels import ARCH_LABEL, NODEPOOL_LABEL
from reconciler.sandbox.agent.agent import AgentOptions, NodeAgent, run_loop
from reconciler.sandbox.agent.kube import AgentClient
from reconciler.sandbox.agent.nodes import (
    AGENT_LABEL,
    DEFAULT_CPU,
    DEFAULT_MEMORY,
    DEFAULT_PODS,
    HOSTNAME_LABEL,
    OS_LABEL,
    NodeSpec,
    nodes_for_zone,
)
from reconciler.sandbox.agent.pods import RunOptions
from reconciler.sandbox.agent.records import kill_recorded
from reconciler.shells.kube import KubeError

EXIT_ERROR = 1
EXIT_USAGE = 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if args.command == "cleanup":
        stopped = kill_recorded(args.state)
        print(f"stopped {len(stopped)} processes recorded under {args.state}")
        return 0
    try:
        services = dict(_pair(text, "--service") for text in args.service)
        nodes = _nodes(args)
    except ValueError as error:
        parser.print_usage(sys.stderr)
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    try:
        client = AgentClient.connect(args.zone or args.context, context=args.context, kubeconfig=args.kubeconfig)
        agent = NodeAgent(client, nodes, AgentOptions(state_dir=args.state, run=RunOptions(services=services)))
        agent.register()
    except (KubeError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_ERROR
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        run_loop(agent, stop)
    finally:
        agent.close()
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m reconciler.sandbox.agent", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="register the zone's Nodes and run the pods bound to them")
    run.add_argument("--kubeconfig", type=Path, required=True)
    run.add_argument("--context", required=True, help="the zone's context in the kubeconfig")
    run.add_argument("--state", type=Path, required=True, help="the agent's directory (pods, logs, process records)")
    run.add_argument("--fleet", type=Path, help="fleet repository whose zone declares the Nodes (with --zone)")
    run.add_argument("--zone", help="the zone's name in the fleet")
    run.add_argument("--node", action="append", default=[], help="NAME=ARCH[,POOL]: a Node instead of a fleet's zone")
    run.add_argument("--service", action="append", default=[], help="HOST:PORT=127.0.0.1:PORT (repeatable)")
    cleanup = commands.add_parser("cleanup", help="stop the processes recorded under --state")
    cleanup.add_argument("--state", type=Path, required=True)
    return parser


def _pair(text: str, option: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key or not value:
        raise ValueError(f"{option} {text!r}: expected KEY=VALUE")
    return key, value


def _nodes(args: argparse.Namespace) -> tuple[NodeSpec, ...]:
    if args.fleet is not None:
        if not args.zone:
            raise ValueError("--fleet needs --zone")
        return _zone_nodes(args.fleet, args.zone)
    if not args.node:
        raise ValueError("give --fleet and --zone, or at least one --node")
    specs = []
    for text in args.node:
        name, value = _pair(text, "--node")
        arch, _, pool = value.partition(",")
        labels = {ARCH_LABEL: arch, OS_LABEL: "linux", HOSTNAME_LABEL: name, AGENT_LABEL: args.context}
        if pool:
            labels[NODEPOOL_LABEL] = pool
        capacity = {"cpu": DEFAULT_CPU, "memory": DEFAULT_MEMORY, "pods": DEFAULT_PODS}
        specs.append(NodeSpec(name=name, labels=labels, capacity=capacity, arch=arch, zone=args.context))
    return tuple(specs)


def _zone_nodes(fleet: Path, zone_name: str) -> tuple[NodeSpec, ...]:
    from reconciler.app.desired import load_desired

    loaded = load_desired(fleet)
    if loaded.spec is None:
        raise ValueError(f"{fleet}: the desired state is invalid (run `edgeops validate {fleet}`)")
    zone = next((z for z in loaded.spec.zones if z.name == zone_name), None)
    if zone is None:
        raise ValueError(f"{fleet}: no zone {zone_name!r}")
    return nodes_for_zone(zone)
