"""plan: comparison, change classification, prune candidates and the change-set values.

Matrix: server-set metadata, status, managedFields and our revision annotation never count as drift (property:
any mix of them added to an object leaves it equal); a real change is a `configure` with a unified diff naming the
field; absent -> create; not ours -> skip-foreign unless adopting; inventory minus desired -> prune in reverse
apply order, nothing when the inventory is unreadable (None); an inventory object no longer ours is not pruned;
ChangeSet counts, summary and `pending`; ZonePlan with another system's changes.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.core.plan import (
    Action,
    Change,
    ChangeSet,
    ZonePlan,
    differs,
    plan_kubernetes,
    plan_object,
    prune_candidates,
    strip,
    unified_diff,
)
from reconciler.core.render import ObjectRef, Stage, make_manifest

pytestmark = pytest.mark.unit

OURS = {"app.kubernetes.io/managed-by": "edgeops", "edgeops.io/zone": "z", "edgeops.io/model": "m"}


def _config_map(data: dict[str, str], labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cm", "namespace": "ns", "labels": dict(OURS if labels is None else labels)},
        "data": data,
    }


def _as_live(obj: dict[str, Any], **server: Any) -> dict[str, Any]:
    live = {**obj, "metadata": {**obj["metadata"], **server}}
    live["status"] = {"observedGeneration": 3}
    return live


_SERVER_FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "resourceVersion": st.integers(1, 10**6).map(str),
        "uid": st.uuids().map(str),
        "creationTimestamp": st.just("2026-11-28T04:00:00Z"),
        "generation": st.integers(1, 50),
        "managedFields": st.just([{"manager": "kubectl", "operation": "Update"}]),
    },
)


@settings(max_examples=60, deadline=None)
@given(server=_SERVER_FIELDS, revision=st.text(min_size=1, max_size=40))
def test_server_set_fields_and_revision_are_never_drift(server: dict[str, Any], revision: str) -> None:
    desired = make_manifest(_config_map({"a": "1"}), Stage.CONFIG, "rev-1").obj()
    live = _as_live(desired, **server)
    live["metadata"]["annotations"] = {**live["metadata"]["annotations"], "edgeops.io/revision": revision}
    assert not differs(live, desired)
    assert strip(live) == strip(desired)
    assert "status" not in strip(live)
    assert unified_diff(live, desired, "x") == ""


def test_a_changed_field_is_configure_with_a_diff() -> None:
    desired = make_manifest(_config_map({"threshold": "0.9"}), Stage.CONFIG, "r")
    live = _as_live(make_manifest(_config_map({"threshold": "0.8"}), Stage.CONFIG, "r").obj(), resourceVersion="7")
    change = plan_object(desired, live, desired.obj())
    assert change.action is Action.CONFIGURE
    assert "-  threshold: '0.8'" in change.diff
    assert "+  threshold: '0.9'" in change.diff
    assert "resourceVersion" not in change.diff


def test_create_unchanged_and_foreign() -> None:
    desired = make_manifest(_config_map({"a": "1"}), Stage.CONFIG, "r")
    created = plan_object(desired, None, None)
    assert created.action is Action.CREATE
    assert created.diff.startswith("--- live/ConfigMap/ns/cm")
    same = plan_object(desired, _as_live(desired.obj(), uid="u"), desired.obj())
    assert same.action is Action.UNCHANGED
    assert same.diff == ""
    foreign_live = _config_map({"a": "theirs"}, labels={"team": "other"})
    foreign = plan_object(desired, foreign_live, None)
    assert foreign.action is Action.SKIP_FOREIGN
    assert "managed-by" in foreign.detail
    adopted = plan_object(desired, foreign_live, desired.obj(), adopt=True)
    assert adopted.action is Action.CONFIGURE


def _ref(kind: str, name: str, ns: str = "ns") -> ObjectRef:
    api = {"Deployment": "apps/v1", "Namespace": "v1", "ConfigMap": "v1", "Role": "rbac.authorization.k8s.io/v1"}[kind]
    return ObjectRef(api, kind, "" if kind == "Namespace" else ns, name)


def test_prune_candidates_are_inventory_minus_desired_in_reverse_order() -> None:
    inventory = [
        _ref("Namespace", "old"),
        _ref("ConfigMap", "a"),
        _ref("Deployment", "a"),
        _ref("Role", "r"),
        _ref("ConfigMap", "keep"),
    ]
    desired = [_ref("ConfigMap", "keep")]
    order = [f"{r.kind}/{r.name}" for r in prune_candidates(inventory, desired)]
    assert order == ["Deployment/a", "ConfigMap/a", "Role/r", "Namespace/old"]
    assert prune_candidates(None, desired) == ()


def test_plan_prunes_only_what_still_exists_and_is_ours() -> None:
    keep = make_manifest(_config_map({"a": "1"}), Stage.CONFIG, "r")
    gone, foreign, vanished = _ref("Deployment", "old"), _ref("ConfigMap", "hijacked"), _ref("ConfigMap", "vanished")
    live: dict[ObjectRef, dict[str, Any] | None] = {
        keep.ref: _as_live(keep.obj()),
        gone: {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "old", "labels": OURS}},
        foreign: _config_map({}, labels={}),
        vanished: None,
    }
    changes = plan_kubernetes([keep], live, {keep.ref: keep.obj()}, [keep.ref, gone, foreign, vanished])
    assert [(c.action, c.name) for c in changes] == [
        (Action.UNCHANGED, "cm"),
        (Action.PRUNE, "old"),
        (Action.SKIP_FOREIGN, "hijacked"),
    ]
    unreadable = plan_kubernetes([keep], live, {keep.ref: keep.obj()}, None)
    assert [c.action for c in unreadable] == [Action.UNCHANGED]


def test_change_set_counts_summary_and_pending() -> None:
    quiet = ChangeSet.of(
        [Change(Action.UNCHANGED, "ConfigMap", "ns", "a"), Change(Action.SKIP_FOREIGN, "Service", "ns", "s")]
    )
    assert not quiet.pending
    busy = quiet + ChangeSet.of([Change(Action.PRUNE, "Deployment", "ns", "d")])
    assert busy.pending
    assert busy.counts()[Action.PRUNE] == 1
    assert busy.summary() == "0 to create, 0 to configure, 1 unchanged, 1 to prune, 1 foreign (skipped)"
    assert Change(Action.CREATE, "Namespace", "", "n").ref == "Namespace/n"


def test_zone_plan_carries_other_systems() -> None:
    plan = ZonePlan("z", "rev", ChangeSet.of([Change(Action.UNCHANGED, "ConfigMap", "ns", "a")]))
    assert not plan.pending
    stream = ChangeSet.of([Change(Action.CREATE, "Stream", "", "input-z-m", system="nats")])
    with_nats = plan.with_system("nats", stream)
    assert with_nats.pending
    assert len(with_nats.all_changes) == 2
    assert with_nats.with_system("nats", ChangeSet()).systems == (("nats", ChangeSet()),)
