"""Planning a zone's Kubernetes objects: desired (rendered) vs live vs the server's dry-run, plus the inventory.

Inputs are plain values read by the app layer, so the decision itself is pure and unit-tested:

    live[ref]      the object as it is in the cluster, or None when absent
    dry_run[ref]   the server's answer to a dry-run apply of the desired object (None when absent: create)
    inventory      refs we applied on the previous pass; None when the inventory could not be read, in which
                   case nothing is pruned
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from reconciler.core.plan.changeset import Action, Change, ChangeSet
from reconciler.core.plan.compare import differs, unified_diff
from reconciler.core.render import Manifest, ObjectRef, apply_order, is_ours

FOREIGN_DETAIL = "exists without label app.kubernetes.io/managed-by=edgeops: left alone (use --adopt to take it over)"


def plan_object(
    desired: Manifest, live: dict[str, Any] | None, dry_run: dict[str, Any] | None, *, adopt: bool = False
) -> Change:
    ref = desired.ref
    if live is None:
        return Change(Action.CREATE, ref.kind, ref.namespace, ref.name, unified_diff(None, desired.obj(), str(ref)))
    if not adopt and not is_ours(live.get("metadata", {}).get("labels")):
        return Change(Action.SKIP_FOREIGN, ref.kind, ref.namespace, ref.name, detail=FOREIGN_DETAIL)
    merged = dry_run if dry_run is not None else desired.obj()
    if not differs(live, merged):
        return Change(Action.UNCHANGED, ref.kind, ref.namespace, ref.name)
    return Change(Action.CONFIGURE, ref.kind, ref.namespace, ref.name, unified_diff(live, merged, str(ref)))


def prune_candidates(inventory: Iterable[ObjectRef] | None, desired: Iterable[ObjectRef]) -> tuple[ObjectRef, ...]:
    """Previous inventory minus desired, in reverse apply order (workloads first, namespaces last)."""
    if inventory is None:
        return ()
    wanted = {(r.kind, r.namespace, r.name) for r in desired}
    gone = [r for r in set(inventory) if (r.kind, r.namespace, r.name) not in wanted]
    order = [(apply_order(r.kind), r.kind, r.namespace, r.name, r) for r in gone]
    return tuple(item[-1] for item in sorted(order, reverse=True))


def plan_prune(ref: ObjectRef, live: dict[str, Any] | None) -> Change | None:
    """A prune only for an object that still exists and is still ours; None when there is nothing to do."""
    if live is None:
        return None
    if not is_ours(live.get("metadata", {}).get("labels")):
        return Change(
            Action.SKIP_FOREIGN,
            ref.kind,
            ref.namespace,
            ref.name,
            detail="in our inventory but no longer ours: not pruned",
        )
    return Change(Action.PRUNE, ref.kind, ref.namespace, ref.name, unified_diff(live, None, str(ref)))


def plan_kubernetes(
    desired: Iterable[Manifest],
    live: Mapping[ObjectRef, dict[str, Any] | None],
    dry_run: Mapping[ObjectRef, dict[str, Any] | None],
    inventory: Iterable[ObjectRef] | None,
    *,
    adopt: bool = False,
) -> ChangeSet:
    manifests = tuple(desired)
    changes = [plan_object(m, live.get(m.ref), dry_run.get(m.ref), adopt=adopt) for m in manifests]
    for ref in prune_candidates(inventory, (m.ref for m in manifests)):
        prune = plan_prune(ref, live.get(ref))
        if prune is not None:
            changes.append(prune)
    return ChangeSet(tuple(changes))
