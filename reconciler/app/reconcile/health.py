"""Workload health: a Deployment or StatefulSet is healthy when its controller has seen the current generation
and every desired replica is updated and available, with none left over — the test `kubectl rollout status`
applies (for a StatefulSet also: every pod at the update revision).

Nothing is assumed: a zone with no schedulable nodes keeps pods Pending, so its workloads never become
available and the zone is reported Degraded once the health timeout passes. A model scaled to zero replicas is
healthy as soon as the controller has observed it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from reconciler.core.render import RenderedZone
from reconciler.shells.kube import ZoneClient

# The kinds that run the runtime's pods (render/workloads.py); each has the status fields read below.
WORKLOAD_KINDS = ("Deployment", "StatefulSet")


def workload_problem(obj: dict[str, Any] | None) -> str | None:
    """None when healthy, else why not (for the zone status message)."""
    if obj is None:
        return "missing"
    spec, status = obj.get("spec", {}), obj.get("status", {})
    want = int(spec.get("replicas", 1))
    if int(status.get("observedGeneration", 0)) < int(obj["metadata"].get("generation", 0)):
        return f"rollout not yet observed by the {obj.get('kind', 'workload').lower()} controller"
    updated, available = int(status.get("updatedReplicas", 0)), int(status.get("availableReplicas", 0))
    # A StatefulSet counts a pod as updated once created at the update revision; the rollout is over when the
    # controller has moved its current revision there too.
    rolling = status.get("updateRevision", "") != status.get("currentRevision", "") and want > 0
    if updated < want or available < want or int(status.get("replicas", 0)) > want or rolling:
        reason = ""
        for condition in status.get("conditions", []):
            if condition.get("status") == "False" and condition.get("message"):
                reason = f" ({condition['message']})"
        return f"{available}/{want} available, {updated}/{want} updated{reason}"
    return None


def unhealthy(client: ZoneClient, rendered: RenderedZone) -> tuple[str, ...]:
    problems = []
    for manifest in rendered:
        if manifest.ref.kind not in WORKLOAD_KINDS:
            continue
        ref = manifest.ref
        problem = workload_problem(client.get(ref.api_version, ref.kind, ref.namespace, ref.name))
        if problem is not None:
            problems.append(f"{ref}: {problem}")
    return tuple(problems)


def wait_healthy(
    client: ZoneClient,
    rendered: RenderedZone,
    timeout_s: float,
    poll_s: float = 1.0,
    stopping: Callable[[], bool] = lambda: False,
) -> tuple[str, ...]:
    """Poll until every workload is healthy or the timeout passes; the problems left (empty: healthy)."""
    deadline = time.monotonic() + timeout_s
    while True:
        problems = unhealthy(client, rendered)
        if not problems or time.monotonic() >= deadline or stopping():
            return problems
        time.sleep(min(poll_s, max(0.0, deadline - time.monotonic())))
