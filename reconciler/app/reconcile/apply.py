"""apply_zone: plan, then staged server-side apply, inventory, prune, and the wait for health.

    (the zone's namespace first, as it holds the inventory; then the inventory written as previous ∪ desired)
    FOUNDATION  Namespaces, NodePools, HelmChart, ServiceAccount, Role, RoleBinding   then wait until they exist
    CONFIG      ConfigMaps
    WORKLOAD    Deployments or StatefulSets, Services, PodDisruptionBudgets
    PRUNE       previous inventory minus desired, workloads first, retried; each delete carries the UID of the
                object the plan checked; skipped when the inventory could not be read; the objects of a track
                whose retired NATS consumers still hold records (`keep`) stay, so its runtime drains them
    (inventory narrowed to desired ∪ what could not be pruned ∪ what `keep` kept)
    HEALTH      Deployments and StatefulSets observed, updated and available, within the timeout

Every write (apply, inventory, delete) first asks `fenced()`: once the region's leader cannot vouch for its
Lease any more, the pass stops writing at once, mid-stage if need be, so two leaders never write at once.

Only objects planned as create or configure are sent, so a pass over an unchanged zone writes nothing.
Objects of ours are applied with force (git wins over hand edits); objects that are not ours are never written
unless `adopt` is set.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

from reconciler.app.reconcile.health import wait_healthy
from reconciler.app.reconcile.inventory import InventoryWriter
from reconciler.app.reconcile.live import LiveState, plan_zone
from reconciler.core.plan import Action, ZonePlan, ZoneResult, ZoneStatus
from reconciler.core.render import Manifest, ObjectRef, RenderedZone, Stage, held_track
from reconciler.shells.kube import Conflict, Invalid, KubeError, Unreachable, ZoneClient

# A stage of the pass ('plan', 'apply:foundation', ..., 'prune', 'health') runs inside observe(stage): the region
# loop opens a tracing span there.
Observer = Callable[[str], AbstractContextManager[object]]


def no_observer(stage: str) -> AbstractContextManager[object]:
    return contextlib.nullcontext()


class Fenced(Exception):
    """The writer may not write any more (it lost, or could not renew, its Lease)."""


Fence = Callable[[], bool]  # True: stop writing now


def _never_fenced() -> bool:
    return False


def _guard(fenced: Fence) -> None:
    if fenced():
        raise Fenced("not leading any more: writes stopped (another replica may hold the Lease)")


@dataclass(frozen=True)
class ApplyOptions:
    prune: bool = True
    adopt: bool = False
    health_timeout_s: float = 120.0
    poll_s: float = 1.0
    prune_attempts: int = 3


def apply_zone(
    client: ZoneClient,
    rendered: RenderedZone,
    options: ApplyOptions | None = None,
    observe: Observer = no_observer,
    stopping: Callable[[], bool] = lambda: False,
    *,
    fenced: Fence = _never_fenced,
    keep: frozenset[tuple[str, str]] = frozenset(),
) -> ZoneResult:
    """Never raises for the zone's own failures: they become the result's status and message. `keep`: the
    (model, track) pairs whose objects are not pruned this pass; they stay in the inventory for a later one."""
    opts = options or ApplyOptions()
    try:
        return _apply_zone(client, rendered, opts, observe=observe, stopping=stopping, fenced=fenced, keep=keep)
    except Fenced as error:
        return _failed(rendered, ZoneStatus.OUT_OF_SYNC, str(error))


def _apply_zone(
    client: ZoneClient,
    rendered: RenderedZone,
    opts: ApplyOptions,
    *,
    observe: Observer,
    stopping: Callable[[], bool],
    fenced: Fence,
    keep: frozenset[tuple[str, str]],
) -> ZoneResult:
    try:
        with observe("plan"):
            plan, state = plan_zone(client, rendered, adopt=opts.adopt)
    except Unreachable as error:
        return _failed(rendered, ZoneStatus.UNREACHABLE, str(error))
    except Invalid as error:
        # The dry run refused a desired object (e.g. it conflicts with fields another manager keeps).
        return _failed(rendered, ZoneStatus.OUT_OF_SYNC, f"the server refuses a desired object: {error}")
    except KubeError as error:
        return _failed(rendered, ZoneStatus.OUT_OF_SYNC, f"cannot read the zone: {error}")
    foreign = tuple(c.ref for c in plan.kubernetes.with_action(Action.SKIP_FOREIGN))
    drift = sum(1 for c in plan.kubernetes.with_action(Action.CONFIGURE))
    # An unreadable inventory is never overwritten: that would forget what it listed.
    writer = (
        InventoryWriter(client, rendered.namespace, state.previous, lambda: _guard(fenced))
        if state.inventory is not None
        else None
    )
    try:
        applied = _apply_stages(client, rendered, plan, state, writer, observe=observe, opts=opts, fenced=fenced)
        with observe("prune"):
            pruned, leftover, kept = _prune(client, plan, state, opts, fenced, keep=keep)
        inventory = [m.ref for m in rendered if _applied_or_ours(plan, m)] + list(leftover) + list(kept)
    except Unreachable as error:
        return _failed(rendered, ZoneStatus.UNREACHABLE, str(error), plan)
    except KubeError as error:
        return _failed(rendered, ZoneStatus.OUT_OF_SYNC, f"apply failed: {error}", plan)
    try:
        with observe("health"):
            problems = wait_healthy(client, rendered, opts.health_timeout_s, opts.poll_s, stopping)
    except Unreachable as error:
        return _failed(rendered, ZoneStatus.UNREACHABLE, str(error), plan)
    status, message = _verdict(problems, foreign, leftover, state, opts, kept=kept)
    if writer is not None:
        try:
            writer.write(inventory, rendered.revision, status.value, rendered.basis)
        except Unreachable as error:
            return _failed(rendered, ZoneStatus.UNREACHABLE, str(error), plan)
        except KubeError as error:
            return _failed(rendered, ZoneStatus.OUT_OF_SYNC, f"cannot write the inventory: {error}", plan)
    return ZoneResult(
        zone=rendered.zone,
        status=status,
        revision=rendered.revision,
        plan=plan,
        message=_paused_note(rendered, message),
        applied=applied,
        pruned=pruned,
        drift=drift,
        foreign=foreign,
        unhealthy=problems,
    )


def _applied_or_ours(plan: ZonePlan, manifest: Manifest) -> bool:
    """Foreign objects we left alone never enter the inventory (so they can never be pruned)."""
    return not any(
        c.action is Action.SKIP_FOREIGN and (c.kind, c.namespace, c.name) == _key(manifest.ref) for c in plan.kubernetes
    )


def _key(ref: ObjectRef) -> tuple[str, str, str]:
    return (ref.kind, ref.namespace, ref.name)


def _apply_stages(
    client: ZoneClient,
    rendered: RenderedZone,
    plan: ZonePlan,
    state: LiveState,
    writer: InventoryWriter | None,
    *,
    observe: Observer,
    opts: ApplyOptions,
    fenced: Fence,
) -> int:
    writes = {(c.kind, c.namespace, c.name) for c in plan.kubernetes.with_action(Action.CREATE, Action.CONFIGURE)}
    applied = 0
    # The inventory lives in the zone's namespace, so that one object is created before it can be recorded;
    # every other object is recorded (previous ∪ desired) before it is created, whatever its stage, so a pass
    # cut short anywhere leaves nothing of ours untracked (and therefore never pruned).
    home = [m for m in rendered.by_stage(Stage.FOUNDATION) if m.ref.kind == "Namespace"]
    home = [m for m in home if m.ref.name == rendered.namespace]
    with observe("apply:foundation"):
        for manifest in home:
            if _key(manifest.ref) in writes:
                _guard(fenced)
                client.apply(manifest.obj(), force=True)
                applied += 1
        _wait_exist(client, tuple(home), opts)
        if writer is not None and state.previous is not None:
            union = {*state.previous.refs, *(m.ref for m in rendered if _applied_or_ours(plan, m))}
            if union != set(state.previous.refs):
                writer.write(union, rendered.revision, "Progressing", rendered.basis)
    first = {_key(m.ref) for m in home}
    for stage in Stage:
        with observe(f"apply:{stage.name.lower()}"):
            for manifest in rendered.by_stage(stage):
                if _key(manifest.ref) in writes and _key(manifest.ref) not in first:
                    _guard(fenced)
                    client.apply(manifest.obj(), force=True)
                    applied += 1
        if stage is Stage.FOUNDATION:
            _wait_exist(client, rendered.by_stage(stage), opts)
    return applied


def _wait_exist(client: ZoneClient, manifests: tuple[Manifest, ...], opts: ApplyOptions) -> None:
    """Namespaces must be Active before objects go into them (a Terminating one refuses creates)."""
    deadline = time.monotonic() + max(opts.health_timeout_s, 30.0)
    for manifest in manifests:
        if manifest.ref.kind != "Namespace":
            continue
        while True:
            found = client.get("v1", "Namespace", "", manifest.ref.name)
            if found is not None and found.get("status", {}).get("phase", "Active") == "Active":
                break
            if time.monotonic() >= deadline:
                raise KubeError(f"namespace {manifest.ref.name} did not become Active (still terminating?)")
            time.sleep(opts.poll_s)


def _prune(
    client: ZoneClient,
    plan: ZonePlan,
    state: LiveState,
    opts: ApplyOptions,
    fenced: Fence,
    *,
    keep: frozenset[tuple[str, str]],
) -> tuple[int, tuple[ObjectRef, ...], tuple[ObjectRef, ...]]:
    """Delete the planned prunes in order, retrying failures, except the objects of the tracks in `keep`;
    returns (pruned, refs that could not be pruned, refs kept on purpose)."""
    prunes = plan.kubernetes.with_action(Action.PRUNE)
    if not opts.prune or state.inventory is None or not prunes:
        # Without pruning, whatever the old inventory listed stays listed, so a later pass can still prune it.
        listed = [r for r in (state.inventory or ()) if any(_key(r) == (c.kind, c.namespace, c.name) for c in prunes)]
        return 0, tuple(listed), ()
    refs = {(r.kind, r.namespace, r.name): r for r in state.inventory}
    pruned, leftover, kept = 0, [], []
    for change in prunes:
        ref = refs[(change.kind, change.namespace, change.name)]
        checked = state.live.get(ref) or {}
        if held_track(checked.get("metadata", {}).get("labels"), keep):
            kept.append(ref)
        elif _delete_with_retries(client, ref, checked.get("metadata", {}).get("uid"), opts, fenced):
            pruned += 1
        else:
            leftover.append(ref)
    return pruned, tuple(leftover), tuple(kept)


def _delete_with_retries(
    client: ZoneClient, ref: ObjectRef, uid: str | None, opts: ApplyOptions, fenced: Fence
) -> bool:
    """Delete the object the plan checked (its UID is a precondition): one recreated under its name in between,
    perhaps by someone else, is left alone and stays listed, so the next pass decides about it afresh."""
    for attempt in range(opts.prune_attempts):
        _guard(fenced)
        try:
            client.delete(ref.api_version, ref.kind, ref.namespace, ref.name, uid=uid)
            return True  # gone, or going (deletionTimestamp set): the garbage collector finishes it
        except Unreachable:
            raise
        except Conflict:
            return False
        except KubeError:
            time.sleep(opts.poll_s * (2**attempt))
    return False


def _verdict(
    problems: tuple[str, ...],
    foreign: tuple[str, ...],
    leftover: tuple[ObjectRef, ...],
    state: LiveState,
    opts: ApplyOptions,
    *,
    kept: tuple[ObjectRef, ...],
) -> tuple[ZoneStatus, str]:
    notes = []
    if kept:
        notes.append(f"kept while their track drains: {', '.join(str(r) for r in kept)}")
    if foreign:
        notes.append(f"{len(foreign)} object(s) with our names are not ours, left alone: {', '.join(foreign)}")
    if leftover:
        notes.append(f"could not prune: {', '.join(str(r) for r in leftover)}")
    if state.inventory is None:
        notes.append(f"nothing pruned: {state.inventory_error}")
    if problems:
        status = ZoneStatus.DEGRADED if opts.health_timeout_s > 0 else ZoneStatus.PROGRESSING
        return status, "; ".join([f"unhealthy: {'; '.join(problems)}", *notes])
    if foreign or leftover or state.inventory is None:
        return ZoneStatus.OUT_OF_SYNC, "; ".join(notes)
    if kept:  # not done until a later pass prunes them
        return ZoneStatus.PROGRESSING, "; ".join(notes)
    return ZoneStatus.SYNCED, ""


def _paused_note(rendered: RenderedZone, message: str) -> str:
    if rendered.basis is None:
        return message
    note = f"paused at {rendered.basis[:12]}: only rollbacks are applied"
    return f"{note}; {message}" if message else note


def _failed(rendered: RenderedZone, status: ZoneStatus, message: str, plan: ZonePlan | None = None) -> ZoneResult:
    return ZoneResult(
        zone=rendered.zone,
        status=status,
        revision=rendered.revision,
        plan=plan or ZonePlan(rendered.zone, rendered.revision, error=message),
        message=message,
    )
