"""The sandbox: the whole control loop of one region on this machine, with nothing to configure.

`edgeops sandbox` loads the fleet, starts a real local control plane per zone of the region (kube-apiserver,
controller-manager and scheduler on kine, the same control plane K3s embeds), runs reconcile passes against them
and reports each zone's status — the path a region's reconciler takes in the field, minus the edge hardware.
"""

from reconciler.app.sandbox.clusters import SandboxClusters, reconcile_passes

__all__ = ["SandboxClusters", "reconcile_passes"]
