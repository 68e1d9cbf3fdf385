"""The Nodes an agent registers for a zone: one per node pool the zone declares (one plain node when it declares
none), labelled as the zone declares (arch, OS, OpenYurt pool and the pool's own labels), with room for the pods a
sandbox runs and the zone's accelerator as `nvidia.com/gpu`.

Pure: the objects and status patches are built here; the agent sends them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from reconciler.core.render.labels import ARCH_LABEL, GPU_RESOURCE, NODEPOOL_LABEL
from reconciler.core.spec import Zone
from reconciler.sandbox.agent.status import rfc3339

OS_LABEL = "kubernetes.io/os"
HOSTNAME_LABEL = "kubernetes.io/hostname"
# Marks the Nodes a sandbox agent registered (and for which zone), so `status` and tests can tell them apart.
AGENT_LABEL = "sandbox.edgeops.io/agent"
AGENT_VERSION = "edgeops-sandbox-agent/0.1"
# What a sandbox node offers: far more than the pods of a region need, so the scheduler never turns a pod away
# for room the local machine really has (the processes share it, as the zone's pods would share a node).
DEFAULT_CPU = "64"
DEFAULT_MEMORY = "256Gi"
DEFAULT_PODS = "110"


@dataclass(frozen=True)
class NodeSpec:
    """One Node to register: its name, labels and capacity (allocatable is the same: nothing is reserved)."""

    name: str
    labels: Mapping[str, str]
    capacity: Mapping[str, str]
    arch: str
    zone: str
    taints: tuple[Mapping[str, str], ...] = field(default=())


def node_name(zone: str, pool: str | None) -> str:
    return f"{zone}-{pool}" if pool is not None else f"{zone}-node"


def nodes_for_zone(zone: Zone, *, gpus: int = 1) -> tuple[NodeSpec, ...]:
    """A NodeSpec per node pool of `zone` (one node without a pool label when it declares none).

    A zone with an accelerator gets `gpus` of `nvidia.com/gpu` per node: the renderer asks for whole devices on
    every zone whose accelerator is not `none`.
    """
    hardware = zone.spec.hardware
    capacity = {"cpu": DEFAULT_CPU, "memory": DEFAULT_MEMORY, "pods": DEFAULT_PODS}
    if hardware.accelerator != "none":
        capacity[GPU_RESOURCE] = str(gpus)
    pools: list[tuple[str | None, Mapping[str, str]]] = [(p.name, p.labels) for p in zone.spec.node_pools]
    specs = []
    for pool, pool_labels in pools or [(None, {})]:
        name = node_name(zone.name, pool)
        labels = {**pool_labels, ARCH_LABEL: hardware.arch, OS_LABEL: "linux", HOSTNAME_LABEL: name}
        labels[AGENT_LABEL] = zone.name
        if pool is not None:
            labels[NODEPOOL_LABEL] = pool
        specs.append(NodeSpec(name=name, labels=labels, capacity=capacity, arch=hardware.arch, zone=zone.name))
    return tuple(specs)


def node_object(spec: NodeSpec) -> dict[str, Any]:
    """The Node as the agent creates it; its status is sent separately (`node_status`)."""
    node_spec: dict[str, Any] = {}
    if spec.taints:
        node_spec["taints"] = [dict(t) for t in spec.taints]
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": spec.name, "labels": dict(spec.labels)},
        "spec": node_spec,
    }


def node_status(spec: NodeSpec, now: datetime, *, ready_since: datetime, ready: bool = True) -> dict[str, Any]:
    """The status a heartbeat writes: capacity, addresses, node info and the conditions, `Ready` last heard `now`.

    `ready_since` is the last transition of Ready (the agent's start, or when it went away).
    """
    stamp = rfc3339(now)
    since = rfc3339(ready_since)
    pressure = [
        _condition(kind, "False", f"NodeHas{reason}", message, heartbeat=stamp, since=since)
        for kind, reason, message in (
            ("MemoryPressure", "SufficientMemory", "the sandbox does not measure memory pressure"),
            ("DiskPressure", "NoDiskPressure", "the sandbox does not measure disk pressure"),
            ("PIDPressure", "SufficientPID", "the sandbox does not measure PID pressure"),
        )
    ]
    if ready:
        ready_condition = _condition(
            "Ready", "True", "KubeletReady", "sandbox agent is posting ready status", heartbeat=stamp, since=since
        )
    else:
        ready_condition = _condition(
            "Ready", "False", "KubeletNotReady", "sandbox agent stopped", heartbeat=stamp, since=since
        )
    return {
        "capacity": dict(spec.capacity),
        "allocatable": dict(spec.capacity),
        "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}, {"type": "Hostname", "address": spec.name}],
        "conditions": [*pressure, ready_condition],
        "nodeInfo": {
            "architecture": spec.arch,
            "operatingSystem": "linux",
            "kubeletVersion": AGENT_VERSION,
            "kubeProxyVersion": "",
            "containerRuntimeVersion": "process://local",
            "osImage": "edgeops sandbox",
            "kernelVersion": "",
            "machineID": "",
            "systemUUID": "",
            "bootID": "",
        },
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 0}},
    }


def _condition(kind: str, status: str, reason: str, message: str, *, heartbeat: str, since: str) -> dict[str, str]:
    return {
        "type": kind,
        "status": status,
        "reason": reason,
        "message": message,
        "lastHeartbeatTime": heartbeat,
        "lastTransitionTime": since,
    }
