"""What a kubelet reports for a pod, computed from what the agent saw of its processes; and the kubelet's rules
for restarting (`restartPolicy`, crash-loop back-off) and probing (thresholds, periods).

Pure: times are passed in (wall-clock `datetime`s for the API's timestamps, monotonic seconds for scheduling).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

# The kubelet's container restart back-off: 10 s doubling up to 5 min, forgotten after 10 min of running.
BACKOFF_BASE_S = 10.0
BACKOFF_CAP_S = 300.0
BACKOFF_RESET_S = 600.0


@dataclass(frozen=True)
class Waiting:
    reason: str
    message: str = ""


@dataclass(frozen=True)
class Running:
    started_at: datetime


@dataclass(frozen=True)
class Terminated:
    exit_code: int
    reason: str
    started_at: datetime
    finished_at: datetime
    message: str = ""


State = Waiting | Running | Terminated


@dataclass(frozen=True)
class ContainerView:
    """One container as the agent last saw it."""

    name: str
    image: str
    state: State
    last: Terminated | None = None
    restarts: int = 0
    ready: bool = False
    pid: int | None = None


def rfc3339(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def exit_reason(exit_code: int) -> str:
    return "Completed" if exit_code == 0 else "Error"


def exit_code_of(returncode: int) -> int:
    """A process killed by signal N (`Popen.returncode` -N) exits 128+N, as a container's shell would report."""
    return 128 - returncode if returncode < 0 else returncode


def will_restart(policy: str, exit_code: int) -> bool:
    """Whether a container that exited with `exit_code` is started again under the pod's `restartPolicy`."""
    if policy == "Never":
        return False
    if policy == "OnFailure":
        return exit_code != 0
    return True  # Always, and the default


def crash_backoff(crashes: int, base_s: float = BACKOFF_BASE_S, cap_s: float = BACKOFF_CAP_S) -> float:
    """Seconds to wait before starting a container again after its `crashes`-th exit in a row (1, 2, …)."""
    if crashes < 1:
        return 0.0
    # Past 2**32 the cap has long been reached; the bound keeps the power finite.
    return float(min(cap_s, base_s * 2.0 ** min(crashes - 1, 32)))


def phase(views: Sequence[ContainerView], policy: str) -> str:
    """The kubelet's pod phase: Pending until every container has run, Running while any runs or will run again,
    then Succeeded or Failed."""
    if not views or any(isinstance(v.state, Waiting) and v.last is None for v in views):
        return "Pending"
    if any(isinstance(v.state, Running | Waiting) for v in views):
        return "Running"
    codes = [v.state.exit_code for v in views if isinstance(v.state, Terminated)]
    if any(will_restart(policy, code) for code in codes):
        return "Running"
    return "Failed" if any(code != 0 for code in codes) else "Succeeded"


def container_status(view: ContainerView) -> dict[str, Any]:
    status: dict[str, Any] = {
        "name": view.name,
        "image": view.image,
        "imageID": "",
        "ready": view.ready,
        "started": isinstance(view.state, Running),
        "restartCount": view.restarts,
        "state": _state(view.state),
        "lastState": _state(view.last) if view.last is not None else {},
    }
    if view.pid is not None:
        status["containerID"] = f"process://{view.pid}"
    return status


def pod_status(
    pod: Mapping[str, Any], views: Sequence[ContainerView], *, now: datetime, start_time: datetime
) -> dict[str, Any]:
    """The pod's whole `status` as the agent reports it (conditions keep their transition times while unchanged)."""
    policy = str(pod.get("spec", {}).get("restartPolicy", "Always"))
    current = phase(views, policy)
    ready = bool(views) and all(v.ready for v in views) and current == "Running"
    previous = {c.get("type"): c for c in pod.get("status", {}).get("conditions") or []}
    wanted = {
        "PodScheduled": "True",
        "Initialized": "True",
        "ContainersReady": "True" if ready else "False",
        "Ready": "True" if ready else "False",
    }
    conditions = []
    for kind, value in wanted.items():
        old = previous.get(kind)
        since = old.get("lastTransitionTime") if old and old.get("status") == value else None
        condition: dict[str, Any] = {"type": kind, "status": value, "lastProbeTime": None}
        condition["lastTransitionTime"] = since or rfc3339(now)
        if value == "False":
            waiting = [v.name for v in views if not v.ready]
            condition["reason"] = "ContainersNotReady"
            condition["message"] = f"containers with unready status: [{' '.join(waiting)}]"
        conditions.append(condition)
    return {
        "phase": current,
        "conditions": conditions,
        "hostIP": "127.0.0.1",
        "hostIPs": [{"ip": "127.0.0.1"}],
        "podIP": "127.0.0.1",
        "podIPs": [{"ip": "127.0.0.1"}],
        "startTime": rfc3339(start_time),
        "qosClass": pod.get("status", {}).get("qosClass", "BestEffort"),
        "containerStatuses": [container_status(v) for v in views],
    }


def _state(state: State) -> dict[str, Any]:
    if isinstance(state, Waiting):
        waiting = {"reason": state.reason}
        if state.message:
            waiting["message"] = state.message
        return {"waiting": waiting}
    if isinstance(state, Running):
        return {"running": {"startedAt": rfc3339(state.started_at)}}
    terminated: dict[str, Any] = {
        "exitCode": state.exit_code,
        "reason": state.reason,
        "startedAt": rfc3339(state.started_at),
        "finishedAt": rfc3339(state.finished_at),
    }
    if state.message:
        terminated["message"] = state.message
    return {"terminated": terminated}


@dataclass
class ProbeTracker:
    """A probe's schedule and verdict: the first try after `initialDelaySeconds`, then every `periodSeconds`; the
    verdict flips to success after `successThreshold` successes in a row and to failure after
    `failureThreshold` failures in a row (readiness starts failed, liveness starts succeeded)."""

    period_s: float
    failure_threshold: int
    success_threshold: int
    timeout_s: float
    next_at: float
    result: bool
    successes: int = 0
    failures: int = 0

    @classmethod
    def from_probe(cls, probe: Mapping[str, Any], started: float, *, initial: bool) -> ProbeTracker:
        return cls(
            period_s=float(probe.get("periodSeconds", 10)),
            failure_threshold=int(probe.get("failureThreshold", 3)),
            success_threshold=int(probe.get("successThreshold", 1)),
            timeout_s=float(probe.get("timeoutSeconds", 1)),
            next_at=started + float(probe.get("initialDelaySeconds", 0)),
            result=initial,
        )

    def due(self, now: float) -> bool:
        return now >= self.next_at

    def record(self, ok: bool, now: float) -> bool:
        """Count one try made at `now`; the verdict after it."""
        self.next_at = now + self.period_s
        if ok:
            self.successes, self.failures = self.successes + 1, 0
            if self.successes >= self.success_threshold:
                self.result = True
        else:
            self.successes, self.failures = 0, self.failures + 1
            if self.failures >= self.failure_threshold:
                self.result = False
        return self.result
