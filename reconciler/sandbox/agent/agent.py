"""The node agent of one zone: registers its Nodes, then, every `sync_interval_s`, lists the pods bound to them
and drives each as local processes (`PodRun`), reporting what it sees as the pod's status; a heartbeat keeps the
Nodes' Ready condition fresh.

Pods are the agent's by `spec.nodeName`, as a kubelet's: a pod stays where it was bound when labels change later
(the scheduler places new pods by the new labels). A pod marked for deletion has its processes stopped (SIGTERM,
SIGKILL after its grace period), then the agent removes it with grace 0, as a kubelet finishes a deletion.

    agent = NodeAgent(client, nodes, AgentOptions(state_dir=...))
    with AgentThread(agent):          # in-process (tests); `run_agent` runs one in the foreground
        ...
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from reconciler.sandbox.agent.kube import AgentClient
from reconciler.sandbox.agent.mapping import PORTS_ANNOTATION, container_ports, host_ports, ports_annotation
from reconciler.sandbox.agent.nodes import NodeSpec, node_object, node_status
from reconciler.sandbox.agent.pods import PodRun, RunOptions
from reconciler.sandbox.agent.records import kill_recorded
from reconciler.sandbox.agent.status import pod_status
from reconciler.sandbox.process import free_port
from reconciler.shells.kube import KubeError

log = logging.getLogger("edgeops.sandbox.agent")
_FINISHED = ("Succeeded", "Failed")


@dataclass(frozen=True)
class AgentOptions:
    state_dir: Path
    run: RunOptions = field(default_factory=RunOptions)
    sync_interval_s: float = 1.0
    heartbeat_s: float = 10.0
    # ConfigMap and Secret volumes are rewritten this often (a kubelet takes up to a minute).
    volume_refresh_s: float = 5.0
    # How long stopping the agent waits for its processes before SIGKILL.
    shutdown_grace_s: float = 10.0


class NodeAgent:
    def __init__(self, client: AgentClient, nodes: Sequence[NodeSpec], options: AgentOptions) -> None:
        if not nodes:
            raise ValueError("a node agent needs at least one node to register")
        self.client = client
        self.nodes = tuple(nodes)
        self.options = options
        self.pods: dict[str, PodRun] = {}
        self._ready_since = datetime.now(UTC)
        self._next_heartbeat = 0.0
        self._next_refresh: dict[str, float] = {}
        self.last_error: Exception | None = None

    def register(self) -> None:
        """Stop what an earlier agent on this state left running, then create the Nodes and report them Ready."""
        left = kill_recorded(self.options.state_dir)
        if left:
            log.info("stopped %d processes an earlier agent left running", len(left))
        for spec in self.nodes:
            self.client.register_node(node_object(spec))
        self._heartbeat(time.monotonic(), force=True)
        for spec in self.nodes:
            self.client.lift_condition_taints(spec.name)

    def sync(self) -> None:
        """One pass: heartbeat when due, then every pod on our nodes."""
        now, wall = time.monotonic(), datetime.now(UTC)
        self._heartbeat(now)
        seen: dict[str, dict[str, Any]] = {}
        for spec in self.nodes:
            for pod in self.client.pods_on(spec.name):
                seen[pod["metadata"]["uid"]] = pod
        for uid, pod in seen.items():
            self._sync_pod(uid, pod, now, wall)
        for uid in [uid for uid in self.pods if uid not in seen]:
            run = self.pods[uid]  # removed without us (a forced delete): stop what runs, forget it
            if run.terminate(now):
                run.remove_files()
                del self.pods[uid]

    def close(self) -> None:
        """Stop every process (SIGTERM, SIGKILL after `shutdown_grace_s`) and report the Nodes NotReady."""
        deadline = time.monotonic() + self.options.shutdown_grace_s
        while self.pods:
            now = time.monotonic()
            for uid, run in list(self.pods.items()):
                if run.terminate(now, grace_s=max(0.0, deadline - now)):
                    del self.pods[uid]
            if self.pods:
                time.sleep(0.05)
        kill_recorded(self.options.state_dir, grace_s=0.0)
        wall = datetime.now(UTC)
        for spec in self.nodes:
            try:
                self.client.patch_node_status(spec.name, node_status(spec, wall, ready_since=wall, ready=False))
            except KubeError as error:
                log.info("node %s not marked NotReady: %s", spec.name, error)

    # ------------------------------------------------------------------ internals

    def _heartbeat(self, now: float, *, force: bool = False) -> None:
        if not force and now < self._next_heartbeat:
            return
        wall = datetime.now(UTC)
        for spec in self.nodes:
            self.client.patch_node_status(spec.name, node_status(spec, wall, ready_since=self._ready_since))
        self._next_heartbeat = now + self.options.heartbeat_s

    def _sync_pod(self, uid: str, pod: dict[str, Any], now: float, wall: datetime) -> None:
        meta = pod["metadata"]
        run = self.pods.get(uid)
        if run is None:
            if meta.get("deletionTimestamp"):
                self.client.finish_pod(meta["namespace"], meta["name"], uid)  # never started here: nothing to stop
                return
            if pod.get("status", {}).get("phase") in _FINISHED:
                return  # ran to its end (before an agent restart): a kubelet does not start it again
            run = self._admit(pod, now)
        run.pod = pod
        if meta.get("deletionTimestamp"):
            if run.terminate(now):
                self.client.finish_pod(run.namespace, run.name, uid)
                run.remove_files()
                del self.pods[uid]
                self._next_refresh.pop(uid, None)
            return
        if run.volumes is None or now >= self._next_refresh.get(uid, 0.0):
            run.refresh_volumes(self.client)
            self._next_refresh[uid] = now + self.options.volume_refresh_s
        run.tick(self.client, now, wall)
        self._report(run, wall)

    def _admit(self, pod: dict[str, Any], now: float) -> PodRun:
        """A pod new to this agent: its host ports (kept from the annotation when an earlier agent chose them)."""
        known = host_ports(pod)
        ports = {port: known.get(port) or free_port() for port in container_ports(pod)}
        meta = pod["metadata"]
        if ports != known:
            self.client.annotate_pod(meta["namespace"], meta["name"], {PORTS_ANNOTATION: ports_annotation(ports)})
        run = PodRun(pod, ports, state_dir=self.options.state_dir, options=self.options.run, now=now)
        self.pods[run.uid] = run
        log.info("pod %s (%s) admitted, ports %s", run.key, run.uid, ports)
        return run

    def _report(self, run: PodRun, wall: datetime) -> None:
        start = run.reported.get("startTime") if run.reported else None
        status = pod_status(run.pod, run.views(), now=wall, start_time=wall)
        if start is not None:
            status["startTime"] = start
        if _without_times(status) == _without_times(run.reported):
            return
        self.client.patch_pod_status(run.namespace, run.name, status)
        run.reported = status


def _without_times(status: dict[str, Any] | None) -> Any:
    """A status with its condition times left out: a new transition time alone is not worth a write."""
    if status is None:
        return None
    conditions = [{k: v for k, v in c.items() if k != "lastTransitionTime"} for c in status.get("conditions", [])]
    return {**status, "conditions": conditions}


class AgentThread:
    """Runs `agent` in a daemon thread until `stop()`: registration first (its errors are raised by `start`),
    then `sync` every `sync_interval_s`; an error in a pass is logged and kept in `agent.last_error`, and the next
    pass tries again (a zone's apiserver restarting is a normal event)."""

    def __init__(self, agent: NodeAgent) -> None:
        self.agent = agent
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sandbox-agent", daemon=True)

    def start(self) -> AgentThread:
        self.agent.register()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self.agent.close()

    def _loop(self) -> None:
        run_loop(self.agent, self._stop)

    def __enter__(self) -> AgentThread:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


def run_loop(agent: NodeAgent, stop: threading.Event) -> None:
    """`agent.sync()` every `sync_interval_s` until `stop` is set."""
    while not stop.is_set():
        began = time.monotonic()
        try:
            agent.sync()
            agent.last_error = None
        except Exception as error:  # one failed pass must not end the agent: the next one retries
            agent.last_error = error
            log.warning("sync failed: %s", error, exc_info=not isinstance(error, KubeError))
        stop.wait(max(0.0, agent.options.sync_interval_s - (time.monotonic() - began)))
