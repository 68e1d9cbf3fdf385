"""The demo's fleet edits and its reading of workloads.

Matrix: the sandbox's demo policy and open maintenance windows on a copy of the template load as a valid fleet
(policy `demo`: steps, window, failure limit; no fleet maintenance windows); the demo's canary block added to every
model assignment of every template zone loads as a live canary on the demo policy at its first weight, and
nothing else of the zone changes; a workload (Deployment or StatefulSet status, generated) is converged exactly
when its controller observed the newest spec and every wanted replica is updated and ready with no extra pod.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.app.desired import load_desired
from reconciler.sandbox.region.demo import _add_canary, _zone_file
from reconciler.sandbox.region.fleetrepo import DEMO_POLICY, _demo_policy
from reconciler.sandbox.region.parts import _workload
from tests.fixtures.template_repo import copy_template

pytestmark = pytest.mark.unit


def _demo_fleet(tmp_path: Path) -> Path:
    work = copy_template(tmp_path / "fleet")
    _demo_policy(work)
    return work


def test_the_demo_policy_loads_and_the_fleet_has_no_maintenance_windows(tmp_path: Path) -> None:
    spec = load_desired(_demo_fleet(tmp_path)).spec
    assert spec is not None
    policy = spec.policies[DEMO_POLICY].spec
    assert policy.steps == (50, 75, 100)
    assert policy.analysis_interval.total_seconds() == 30
    assert (policy.failure_limit, policy.promotion, policy.rollback) == (5, "auto-merge", "auto-merge")
    assert not spec.fleet.spec.maintenance_windows


def test_the_demo_canary_block_loads_as_a_live_canary_on_the_demo_policy(tmp_path: Path) -> None:
    work = _demo_fleet(tmp_path)
    before = load_desired(work).spec
    assert before is not None
    edited = 0
    for zone in before.zones:
        for assignment in zone.spec.models:
            if assignment.canary is not None:
                continue
            path = _zone_file(work, zone.name)
            original = path.read_text()
            _add_canary(path, assignment.model, "9.9.9", 20, "2026-12-07T10:00:00Z")
            text = path.read_text()
            assert "policy: demo" in text
            # ruamel keeps the rest of the file: the only new lines are the canary block's.
            assert set(original.splitlines()) <= set(text.splitlines())
            path.write_text(original)
            edited += 1
    assert edited >= 2
    path = _zone_file(work, "ams-01")
    _add_canary(path, "fraud-scoring", "1.1.0", 20, "2026-12-07T10:00:00Z")
    spec = load_desired(work).spec
    assert spec is not None
    zone = spec.zone("ams-01")
    assert zone is not None
    (assignment,) = [a for a in zone.spec.models if a.model == "fraud-scoring"]
    canary = assignment.canary
    assert canary is not None
    assert (canary.version, canary.weight, canary.policy, canary.phase) == ("1.1.0", 20, DEMO_POLICY, "live")


Status = tuple[int, int, int, int, int, int]  # replicas wanted, ready, updated, current; generation, observed


def _object(status: Status) -> dict[str, Any]:
    replicas, ready, updated, current, generation, observed = status
    return {
        "metadata": {"name": "fraud-scoring", "generation": generation},
        "spec": {"replicas": replicas},
        "status": {
            "readyReplicas": ready,
            "updatedReplicas": updated,
            "replicas": current,
            "observedGeneration": observed,
        },
    }


@given(
    kind=st.sampled_from(["Deployment", "StatefulSet"]),
    status=st.tuples(
        st.integers(0, 4), st.integers(0, 5), st.integers(0, 5), st.integers(0, 5), st.integers(1, 3), st.integers(0, 3)
    ),
)
def test_a_workload_is_converged_only_when_every_wanted_pod_is_updated_and_ready(kind: str, status: Status) -> None:
    found = _workload(kind, _object(status), "1.1.0")
    replicas, ready, updated, current, generation, observed = status
    expected = observed >= generation and ready == updated == current == replicas
    assert found.converged is expected
    assert kind in found.describe()


@pytest.mark.parametrize(
    ("status", "converged"),
    [
        ((2, 2, 2, 2, 1, 1), True),  # steady
        ((2, 2, 2, 3, 1, 1), False),  # an old pod still terminating
        ((2, 1, 2, 2, 1, 1), False),  # one new pod not Ready yet
        ((2, 2, 2, 2, 2, 1), False),  # a new spec its controller has not seen
        ((1, 0, 0, 0, 1, 1), False),  # no pod yet
    ],
)
def test_named_rollout_states(status: Status, converged: bool) -> None:
    assert _workload("Deployment", _object(status), "1.0.0").converged is converged
