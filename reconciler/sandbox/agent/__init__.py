"""The sandbox's node agent: a zone's Nodes, and the Pods the scheduler binds to them run as local processes.

It stands in for a kubelet so that a sandbox zone's Deployments really run: `edgeops serve` for the runtime image
(with the pod's ConfigMap and env), any other container's command as given; their phase, readiness (the
readiness probe), restarts and crash-loop back-off reported to the apiserver. It is a sandbox part, not a product
kubelet: no images, no isolation, no resource limits. See docs/sandbox.md.

    client = AgentClient.connect(zone.name, context=zone.name, kubeconfig=kube.kubeconfig)
    agent = NodeAgent(client, nodes_for_zone(zone), AgentOptions(state_dir=state / zone.name))
    with AgentThread(agent):            # or `python -m reconciler.sandbox.agent run ...` as a process of its own
        ...
    kill_recorded(state / zone.name)    # after a SIGKILLed agent: stop the processes it had started

Modules: `nodes` (Node objects), `envvars` (env resolution), `mapping` (paths, ports, services, command),
`volumes`, `status` (pod status, back-off, probe thresholds), `probes`, `records` (processes on disk), `pods`
(one pod's processes), `kube` (apiserver requests), `agent` (the loop), `main` (the command line).
"""

from reconciler.sandbox.agent.agent import AgentOptions, AgentThread, NodeAgent, run_loop
from reconciler.sandbox.agent.envvars import ContainerConfigError, expand, resolve_env
from reconciler.sandbox.agent.kube import AgentClient
from reconciler.sandbox.agent.mapping import (
    PORT_ENV_PREFIX,
    PORTS_ANNOTATION,
    RUNTIME_IMAGES,
    Mounts,
    host_port,
    host_ports,
    launch,
    localize_runtime_config,
)
from reconciler.sandbox.agent.nodes import AGENT_LABEL, NodeSpec, node_name, nodes_for_zone
from reconciler.sandbox.agent.pods import RunOptions, local_edgeops
from reconciler.sandbox.agent.records import ProcessRecord, alive, kill_recorded, read_records
from reconciler.sandbox.agent.status import ContainerView, crash_backoff, phase, pod_status

__all__ = [
    "AGENT_LABEL",
    "PORTS_ANNOTATION",
    "PORT_ENV_PREFIX",
    "RUNTIME_IMAGES",
    "AgentClient",
    "AgentOptions",
    "AgentThread",
    "ContainerConfigError",
    "ContainerView",
    "Mounts",
    "NodeAgent",
    "NodeSpec",
    "ProcessRecord",
    "RunOptions",
    "alive",
    "crash_backoff",
    "expand",
    "host_port",
    "host_ports",
    "kill_recorded",
    "launch",
    "local_edgeops",
    "localize_runtime_config",
    "node_name",
    "nodes_for_zone",
    "phase",
    "pod_status",
    "read_records",
    "resolve_env",
    "run_loop",
]
