"""`edgeops reconcile` put together: where the repository clone is kept, the region's Lease and this replica's
name in it, and the region loop run with `/metrics`, traces, JSON logs, nudges from the hub (`nudge_hub`) and
SIGTERM/SIGINT as a graceful stop.

    loop = run_reconciler(ReconcilerSettings(region="eu-west", repo=url, region_options=options), once=True)
    loop.results, loop.last_error                      # what the CLI reports and turns into an exit code

`build_loop` raises `KubeConfigError` when the cluster holding the Lease cannot be used; nothing has started then.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.app.reconcile.leader import LeaderElector
from reconciler.app.reconcile.loop import AfterPass, LoopOptions, RegionLoop
from reconciler.app.reconcile.nudges import NudgeListener
from reconciler.app.reconcile.region import RegionOptions
from reconciler.app.reconcile.source import RepoSource
from reconciler.app.reconcile.telemetry import LoopMetrics, configure_json_logs, configure_tracing, serve_page
from reconciler.app.reconcile.trust import CommitTrust, root_policy
from reconciler.shells.kube import ZoneClient
from reconciler.shells.nats import NatsEndpoint

DEFAULT_CACHE_DIR = Path.home() / ".cache" / "edgeops" / "repos"


@dataclass(frozen=True)
class ReconcilerSettings:
    region: str
    repo: str  # clone URL, or path of a local repository
    branch: str = "main"
    interval_s: float = 30.0
    region_options: RegionOptions = field(default_factory=RegionOptions)  # what every pass runs with
    leader_elect: bool = True
    lease_context: str | None = None  # kubeconfig context of the cluster holding the Lease (None: current)
    lease_namespace: str = "kube-system"
    identity: str | None = None  # this replica's name in the Lease (default: host and pid)
    cache_dir: Path | None = None  # where the clone is kept (default: ~/.cache/edgeops/repos)
    metrics_port: int = 9465  # 0: no /metrics
    metrics_host: str = "127.0.0.1"
    nudge_hub: NatsEndpoint | None = None  # where to listen for nudges (None: the interval alone)
    trusted_keys: tuple[Path, ...] = ()  # the reconciler's own trusted keys: signed commits required from the start
    after_pass: AfterPass | None = None  # called with each pass's results (notifications)
    metrics: LoopMetrics | None = None  # the loop's registry (others may register in it first); default: a new one
    page: Callable[[], str] | None = None  # an HTML page served on `/` beside `/metrics` (the fleet page)


def repo_url(repo: str) -> str:
    """A local path as an absolute one (the clone's remote must not depend on the working directory)."""
    return str(Path(repo).resolve()) if Path(repo).exists() else repo


def clone_path(cache_dir: Path | None, region: str, url: str) -> Path:
    """One bare clone per region and remote, so replicas of different regions can share a cache."""
    digest = hashlib.sha256(url.encode()).hexdigest()[:12]
    return (cache_dir or DEFAULT_CACHE_DIR) / f"{region}-{digest}.git"


def lease_name(region: str) -> str:
    return f"edgeops-reconciler-{region}"


def replica_identity() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def build_loop(settings: ReconcilerSettings) -> RegionLoop:
    url = repo_url(settings.repo)
    trust = CommitTrust(root_policy(settings.trusted_keys))
    source = RepoSource(url, clone_path(settings.cache_dir, settings.region, url), settings.branch, trust)
    elector = None
    if settings.leader_elect:
        client = ZoneClient.connect("lease", settings.lease_context, settings.region_options.kubeconfig)
        identity = settings.identity or replica_identity()
        elector = LeaderElector(client, settings.lease_namespace, lease_name(settings.region), identity)
    options = LoopOptions(
        region=settings.region, interval_s=settings.interval_s, region_options=settings.region_options
    )
    return RegionLoop(source.fetch, options, elector, metrics=settings.metrics, after_pass=settings.after_pass)


async def run_until_signalled(loop: RegionLoop, *, once: bool = False, nudge_hub: NatsEndpoint | None = None) -> None:
    """Run the loop, nudged from `nudge_hub` when given; SIGTERM or SIGINT stops it after the writes in flight (the
    Lease is released)."""
    running = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        running.add_signal_handler(sig, loop.stop)
    listener = NudgeListener(nudge_hub, loop) if nudge_hub is not None and not once else None
    if listener is not None:
        listener.start()
    try:
        await loop.run(once=once)
    finally:
        if listener is not None:
            await listener.close()


def run_reconciler(settings: ReconcilerSettings, *, once: bool = False) -> RegionLoop:
    """Build the loop and run it until stopped (`once`: one pass); returns it for its results."""
    configure_json_logs()
    loop = build_loop(settings)
    tracing = configure_tracing()
    server = None
    if settings.metrics_port and settings.page is not None:
        server = serve_page(loop.metrics.registry, settings.page, settings.metrics_port, settings.metrics_host)
    elif settings.metrics_port:
        server = loop.metrics.serve(settings.metrics_port, settings.metrics_host)
    try:
        asyncio.run(run_until_signalled(loop, once=once, nudge_hub=settings.nudge_hub))
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
        if tracing is not None:
            tracing.shutdown()
    return loop
