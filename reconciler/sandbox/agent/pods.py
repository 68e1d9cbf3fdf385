"""One pod's containers as local processes: start with the pod's volumes, env and ports, watch them exit and
restart them with the kubelet's back-off, probe them, stop them (SIGTERM, SIGKILL after the grace period).

Nothing here blocks for long: `tick` is called again and again by the agent's loop, and a stop only sends signals
and looks again on the next tick.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from reconciler.sandbox.agent.envvars import ContainerConfigError, ObjectSource, resolve_env
from reconciler.sandbox.agent.mapping import (
    RUNTIME_IMAGES,
    Launch,
    Mounts,
    launch,
    localize_runtime_config,
    port_env,
    resolve_port,
)
from reconciler.sandbox.agent.probes import probe_once
from reconciler.sandbox.agent.records import ProcessRecord, remove_record, write_record
from reconciler.sandbox.agent.status import (
    BACKOFF_BASE_S,
    BACKOFF_CAP_S,
    BACKOFF_RESET_S,
    ContainerView,
    ProbeTracker,
    Running,
    State,
    Terminated,
    Waiting,
    crash_backoff,
    exit_code_of,
    exit_reason,
    will_restart,
)
from reconciler.sandbox.agent.volumes import materialize
from reconciler.sandbox.process import ServerProcess, ServerProcessError, start_ticks

DEFAULT_GRACE_S = 30.0


def local_edgeops() -> tuple[str, ...]:
    """How to run this installation's `edgeops` (the one beside this Python, else the module)."""
    beside = Path(sys.executable).parent / "edgeops"
    if beside.exists():
        return (str(beside),)
    found = shutil.which("edgeops")
    return (found,) if found else (sys.executable, "-m", "reconciler.cli.main")


@dataclass(frozen=True)
class RunOptions:
    """How containers are run: the service table, extra env for every process, the back-off and the CLI."""

    services: Mapping[str, str] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    backoff_base_s: float = BACKOFF_BASE_S
    backoff_cap_s: float = BACKOFF_CAP_S
    runtime_images: tuple[str, ...] = RUNTIME_IMAGES
    edgeops: tuple[str, ...] = field(default_factory=local_edgeops)


@dataclass
class Container:
    spec: Mapping[str, Any]
    state: State = field(default_factory=lambda: Waiting("ContainerCreating"))
    last: Terminated | None = None
    restarts: int = 0
    crashes: int = 0  # exits in a row, for the back-off
    process: ServerProcess | None = None
    started_mono: float = 0.0
    restart_at: float = 0.0
    stop_deadline: float | None = None  # set once SIGTERM was sent
    readiness: ProbeTracker | None = None
    liveness: ProbeTracker | None = None
    env: dict[str, str] = field(default_factory=dict)
    mounts: Mounts | None = None
    config: str | None = None  # a runtime container's config path (in the container)

    @property
    def name(self) -> str:
        return str(self.spec["name"])

    def view(self) -> ContainerView:
        ready = isinstance(self.state, Running) and (self.readiness is None or self.readiness.result)
        pid = self.process.pid if self.process is not None and self.process.running else None
        return ContainerView(
            self.name, str(self.spec.get("image", "")), self.state, self.last, self.restarts, ready, pid
        )


class PodRun:
    """The processes of one pod (by uid) on this machine."""

    def __init__(
        self, pod: Mapping[str, Any], ports: Mapping[int, int], *, state_dir: Path, options: RunOptions, now: float
    ) -> None:
        meta = pod["metadata"]
        self.uid = str(meta["uid"])
        self.namespace = str(meta["namespace"])
        self.name = str(meta["name"])
        self.pod = pod
        self.ports = dict(ports)
        self.state_dir = state_dir
        self.dir = state_dir / "pods" / self.uid
        self.log_dir = state_dir / "logs" / f"{self.namespace}_{self.name}_{self.uid}"
        self.options = options
        self.containers = [Container(spec) for spec in pod["spec"]["containers"]]
        self.volumes: dict[str, Path] | None = None
        self.started = now
        self.reported: dict[str, Any] | None = None  # the last status sent

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def views(self) -> list[ContainerView]:
        return [c.view() for c in self.containers]

    # ------------------------------------------------------------------ running

    def refresh_volumes(self, objects: ObjectSource) -> bool:
        """Write the volumes (again: ConfigMaps change); False, with every unstarted container waiting with the
        reason, when a mount is not possible."""
        try:
            self.volumes = materialize(self.pod, self.dir, objects)
        except ContainerConfigError as error:
            for container in self.containers:
                if container.process is None and isinstance(container.state, Waiting):
                    container.state = Waiting(error.reason, str(error))
            return False
        for container in self.containers:
            if container.process is not None and container.process.running:
                with contextlib.suppress(ContainerConfigError):  # the running one keeps its last good copy
                    self._localize(container)  # a changed runtime.json reaches the running runtime, as in a pod
        return True

    def tick(self, objects: ObjectSource, now: float, wall: datetime) -> None:
        """Notice exits, restart what is due, probe what runs."""
        policy = str(self.pod.get("spec", {}).get("restartPolicy", "Always"))
        for container in self.containers:
            process = container.process
            if process is not None and process.poll() is not None:
                self._exited(container, policy, now, wall)
            elif process is not None and process.running:
                self._probe(container, now)
            elif isinstance(container.state, Waiting) and now >= container.restart_at and self.volumes is not None:
                self._start(container, objects, now, wall)

    def _start(self, container: Container, objects: ObjectSource, now: float, wall: datetime) -> None:
        assert self.volumes is not None
        try:
            env = resolve_env(container.spec, self.pod, objects, extra={**self.options.env, **port_env(self.ports)})
            mounts = Mounts.for_container(container.spec, self.volumes, self.dir / "rootfs")
            plan = launch(
                container.spec, env, mounts, edgeops=self.options.edgeops, runtime_images=self.options.runtime_images
            )
            argv = self._localized_argv(container, plan, mounts)
        except ContainerConfigError as error:
            container.state = Waiting(error.reason, str(error))
            return
        container.env = env
        (self.dir / "rootfs").mkdir(parents=True, exist_ok=True)
        process = ServerProcess(
            f"{self.key}/{container.name}",
            argv,
            self.log_dir / f"{container.name}.log",
            env={"PYTHONUNBUFFERED": "1", **env},
            cwd=self.dir / "rootfs",
        )
        ran_before = container.last is not None
        try:
            process.start()
        except ServerProcessError as error:
            self._crashed(container, Terminated(128, "StartError", wall, wall, str(error)), now)
            return
        assert process.pid is not None
        write_record(
            self.state_dir,
            ProcessRecord(process.pid, start_ticks(process.pid), self.key, self.uid, container.name),
        )
        container.process = process
        container.state = Running(wall)
        container.started_mono = now
        if ran_before:
            container.restarts += 1
        spec = container.spec
        readiness, liveness = spec.get("readinessProbe"), spec.get("livenessProbe")
        container.readiness = ProbeTracker.from_probe(readiness, now, initial=False) if readiness else None
        container.liveness = ProbeTracker.from_probe(liveness, now, initial=True) if liveness else None

    def _localized_argv(self, container: Container, plan: Launch, mounts: Mounts) -> list[str]:
        argv = list(plan.argv)
        container.mounts, container.config = mounts, plan.runtime_config
        if plan.runtime_config is not None and plan.config_index is not None:
            argv[plan.config_index] = str(self._localize(container))
        return argv

    def _localize(self, container: Container) -> Path:
        """Write the runtime container's local runtime.json from the mounted one (when it changed); its path."""
        target = self.dir / "runtime" / f"{container.name}.json"
        if container.mounts is None or container.config is None:
            return target
        source = container.mounts.to_host(container.config)
        try:
            text = source.read_text(encoding="utf-8")
        except OSError as error:
            raise ContainerConfigError(f"cannot read the runtime config {container.config}: {error}") from error
        local = localize_runtime_config(text, ports=self.ports, mounts=container.mounts, services=self.options.services)
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists() or target.read_text(encoding="utf-8") != local:
            partial = target.with_suffix(".tmp")
            partial.write_text(local, encoding="utf-8")
            os.replace(partial, target)
        return target

    def _exited(self, container: Container, policy: str, now: float, wall: datetime) -> None:
        process = container.process
        assert process is not None
        code = exit_code_of(process.poll() or 0)
        process.stop(timeout_s=1.0)  # the group may hold children of the leader
        remove_record(self.state_dir, self.uid, container.name)
        container.process = None
        container.stop_deadline = None
        started = container.state.started_at if isinstance(container.state, Running) else wall
        finished = Terminated(code, exit_reason(code), started, wall)
        if not will_restart(policy, code):
            container.state = finished
            return
        if now - container.started_mono >= BACKOFF_RESET_S:
            container.crashes = 0  # it ran long enough: the back-off starts over
        self._crashed(container, finished, now)

    def _crashed(self, container: Container, finished: Terminated, now: float) -> None:
        container.crashes += 1
        delay = crash_backoff(container.crashes, self.options.backoff_base_s, self.options.backoff_cap_s)
        container.last = finished
        container.restart_at = now + delay
        container.state = Waiting(
            "CrashLoopBackOff",
            f"back-off {delay:g}s restarting failed container={container.name} pod={self.name}_{self.namespace}({self.uid})",
        )

    def _probe(self, container: Container, now: float) -> None:
        if container.stop_deadline is not None:
            self._escalate(container, now)
            return
        for tracker, kind in ((container.readiness, "readinessProbe"), (container.liveness, "livenessProbe")):
            if tracker is None or not tracker.due(now):
                continue
            ok = probe_once(
                container.spec[kind],
                port_of=lambda port: resolve_port(container.spec, port, self.ports),
                exec_argv=lambda argv: argv,
                env=container.env,
                timeout_s=tracker.timeout_s,
            )
            if not tracker.record(ok, now) and kind == "livenessProbe":
                self.stop_container(container, now, self._grace())  # the exit is then a crash, restarted

    # ------------------------------------------------------------------ stopping

    def _grace(self) -> float:
        meta, spec = self.pod.get("metadata", {}), self.pod.get("spec", {})
        grace = meta.get("deletionGracePeriodSeconds", spec.get("terminationGracePeriodSeconds", DEFAULT_GRACE_S))
        return float(grace if grace is not None else DEFAULT_GRACE_S)

    def stop_container(self, container: Container, now: float, grace_s: float) -> None:
        process = container.process
        if process is None or not process.running or container.stop_deadline is not None:
            return
        _signal_group(process.pid, signal.SIGTERM)
        container.stop_deadline = now + grace_s

    def _escalate(self, container: Container, now: float) -> None:
        process = container.process
        if process is not None and container.stop_deadline is not None and now >= container.stop_deadline:
            _signal_group(process.pid, signal.SIGKILL)

    def terminate(self, now: float, grace_s: float | None = None) -> bool:
        """Stop every process (SIGTERM now, SIGKILL once the grace period is over); True once all are gone."""
        grace = self._grace() if grace_s is None else grace_s
        done = True
        for container in self.containers:
            process = container.process
            if process is None:
                continue
            if process.poll() is not None:
                process.stop(timeout_s=1.0)
                remove_record(self.state_dir, self.uid, container.name)
                container.process = None
                continue
            self.stop_container(container, now, grace)
            self._escalate(container, now)
            done = False
        return done

    def remove_files(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def _signal_group(pid: int | None, sig: signal.Signals) -> None:
    if pid is None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
