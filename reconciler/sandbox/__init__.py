"""The sandbox: the product run on one machine, with nothing to configure.

`edgeops sandbox` loads the fleet, starts a real local control plane per zone of the region (kube-apiserver,
controller-manager and scheduler on kine, the same control plane K3s embeds), runs reconcile passes against them
and reports each zone's status — the path a region's reconciler takes in the field, minus the edge hardware — then
runs one zone's data plane as local processes and sends it sensor records.

This package is a wing beside the layers, not one of them: it may import every layer (core, shells, app), and no
production layer imports it (an import-linter contract in `pyproject.toml` says so; the `sandbox` command is the
one door in). The integration tests and the benchmarks use it too.

- `localkube`: local zone clusters on loopback (`LocalKube`, `LocalZone`, its error tree)
- `process`: a server process in its own process group (`ServerProcess`) and `free_port`
- `clusters`: one local cluster per zone of a region, and reconcile passes against them
- `dataplane`: one zone's NATS servers and `edgeops serve`, driven with sensor records (`loopback_server_settings`
  for a nats-server on free loopback ports)
- `agent`: the node agent that runs a zone's pods as local processes
- `forge`: the local GitHub-compatible REST server over a bare git remote, with signed webhook deliveries
- `region`: a whole region kept up by a supervisor process (`edgeops sandbox up | status | down`)
"""

from reconciler.sandbox.clusters import PassReport, SandboxClusters, reconcile_passes
from reconciler.sandbox.dataplane import (
    DataplaneError,
    DataplaneReport,
    ModelRun,
    loopback_server_settings,
    run_dataplane,
)
from reconciler.sandbox.localkube import BinariesMissing, LocalKube, LocalKubeError, ZoneOptions
from reconciler.sandbox.process import (
    ServerProcess,
    ServerProcessError,
    free_port,
    http_ok,
    log_says_port_in_use,
    port_accepts,
)

__all__ = [
    "BinariesMissing",
    "DataplaneError",
    "DataplaneReport",
    "LocalKube",
    "LocalKubeError",
    "ModelRun",
    "PassReport",
    "SandboxClusters",
    "ServerProcess",
    "ServerProcessError",
    "ZoneOptions",
    "free_port",
    "http_ok",
    "log_says_port_in_use",
    "loopback_server_settings",
    "port_accepts",
    "reconcile_passes",
    "run_dataplane",
]
