"""Pure parts of the region loop and apply: backoff schedule, per-zone backoff bookkeeping, workload health.

Matrix: backoff doubles from the base up to the cap and is 0 before any failure; an unreachable result delays only
its zone and a later success clears it; a Deployment is healthy only when observed, updated and available, and
a replicas: 0 Deployment is healthy once observed; unhealthy reasons carry the controller's message; a StatefulSet
is healthy only when also every pod is at the update revision.
"""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.app.reconcile.health import workload_problem
from reconciler.app.reconcile.loop import ZoneBackoff, backoff_delay
from reconciler.core.plan import ZonePlan, ZoneResult, ZoneStatus

pytestmark = pytest.mark.unit


def test_backoff_delay_doubles_up_to_the_cap() -> None:
    assert [backoff_delay(n, 30, 300) for n in range(7)] == [0, 30, 60, 120, 240, 300, 300]
    assert backoff_delay(10_000, 1, 5) == 5


def _result(zone: str, status: ZoneStatus) -> ZoneResult:
    return ZoneResult(zone, status, "r", ZonePlan(zone, "r"))


def test_zone_backoff_delays_only_the_unreachable_zone() -> None:
    backoff = ZoneBackoff(base_s=10, cap_s=100)
    backoff.record(_result("a", ZoneStatus.UNREACHABLE), now=0)
    backoff.record(_result("b", ZoneStatus.SYNCED), now=0)
    assert not backoff.due("a", 5)
    assert backoff.due("b", 5)
    assert backoff.due("a", 10)
    backoff.record(_result("a", ZoneStatus.UNREACHABLE), now=10)
    assert not backoff.due("a", 29)
    assert backoff.due("a", 30)
    backoff.record(_result("a", ZoneStatus.DEGRADED), now=30)
    assert backoff.due("a", 30)
    assert "a" not in backoff.failures


def _deployment(want: int, generation: int, **status: Any) -> dict[str, Any]:
    return {"metadata": {"name": "d", "generation": generation}, "spec": {"replicas": want}, "status": status}


def test_deployment_health() -> None:
    assert workload_problem(None) == "missing"
    assert workload_problem(_deployment(0, 1, observedGeneration=1)) is None
    assert "not yet observed" in str(workload_problem(_deployment(0, 2, observedGeneration=1)))
    assert (
        workload_problem(_deployment(2, 1, observedGeneration=1, replicas=2, updatedReplicas=2, availableReplicas=2))
        is None
    )
    pending = _deployment(
        1,
        1,
        observedGeneration=1,
        replicas=1,
        updatedReplicas=1,
        conditions=[
            {"type": "Available", "status": "False", "message": "Deployment does not have minimum availability."}
        ],
    )
    problem = workload_problem(pending)
    assert problem is not None
    assert problem.startswith("0/1 available")
    assert "minimum availability" in problem
    surplus = _deployment(1, 1, observedGeneration=1, replicas=2, updatedReplicas=1, availableReplicas=1)
    assert workload_problem(surplus) is not None


def _stateful(want: int, **status: Any) -> dict[str, Any]:
    return {
        "kind": "StatefulSet",
        "metadata": {"name": "s", "generation": 1},
        "spec": {"replicas": want},
        "status": {"observedGeneration": 1, **status},
    }


def test_statefulset_health() -> None:
    done = {"replicas": 2, "updatedReplicas": 2, "availableReplicas": 2, "readyReplicas": 2}
    assert workload_problem(_stateful(2, **done, currentRevision="s-2", updateRevision="s-2")) is None
    assert workload_problem(_stateful(0, currentRevision="s-1", updateRevision="s-2")) is None
    rolling = workload_problem(_stateful(2, **done, currentRevision="s-1", updateRevision="s-2"))
    assert rolling is not None  # created at the new revision, but the controller has not finished the roll
    starting = workload_problem(_stateful(2, replicas=2, updatedReplicas=2, availableReplicas=1))
    assert starting == "1/2 available, 2/2 updated"
    unobserved = {**_stateful(2, **done), "metadata": {"name": "s", "generation": 2}}
    assert "statefulset controller" in str(workload_problem(unobserved))
