"""Workload health: a Deployment is healthy when its controller has seen the current generation and every
desired replica is updated and available — the same test `kubectl rollout status` applies.

Nothing is assumed: a zone with no schedulable nodes keeps pods Pending, so its Deployments never become
available and the zone is reported Degraded once the health timeout passes. A model scaled to zero replicas is
healthy as soon as the controller has observed it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from reconciler.core.render import RenderedZone
from reconciler.shells.kube import ZoneClient


def deployment_problem(obj: dict[str, Any] | None) -> str | None:
    """None when healthy, else why not (for the zone status message)."""
    if obj is None:
        return "missing"
    spec, status = obj.get("spec", {}), obj.get("status", {})
    want = int(spec.get("replicas", 1))
    if int(status.get("observedGeneration", 0)) < int(obj["metadata"].get("generation", 0)):
        return "rollout not yet observed by the deployment controller"
    updated, available = int(status.get("updatedReplicas", 0)), int(status.get("availableReplicas", 0))
    if updated < want or available < want or int(status.get("replicas", 0)) > want:
        reason = ""
        for condition in status.get("conditions", []):
            if condition.get("status") == "False" and condition.get("message"):
                reason = f" ({condition['message']})"
        return f"{available}/{want} available, {updated}/{want} updated{reason}"
    return None


def unhealthy(client: ZoneClient, rendered: RenderedZone) -> tuple[str, ...]:
    problems = []
    for manifest in rendered:
        if manifest.ref.kind != "Deployment":
            continue
        ref = manifest.ref
        problem = deployment_problem(client.get(ref.api_version, ref.kind, ref.namespace, ref.name))
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
    """Poll until every Deployment is healthy or the timeout passes; the problems left (empty: healthy)."""
    deadline = time.monotonic() + timeout_s
    while True:
        problems = unhealthy(client, rendered)
        if not problems or time.monotonic() >= deadline or stopping():
            return problems
        time.sleep(min(poll_s, max(0.0, deadline - time.monotonic())))
