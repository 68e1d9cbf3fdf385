"""Reading what a plan compares against: each desired object as it is live, the server's dry-run apply of it,
and the previous inventory (plus the live state of objects it lists that are no longer desired)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler.app.reconcile.inventory import Inventory, InventoryUnreadable, read_inventory
from reconciler.core.plan import ZonePlan, plan_kubernetes, prune_candidates
from reconciler.core.render import ObjectRef, RenderedZone, is_ours
from reconciler.shells.kube import ZoneClient


@dataclass(frozen=True)
class LiveState:
    live: dict[ObjectRef, dict[str, Any] | None]
    dry_run: dict[ObjectRef, dict[str, Any] | None]
    inventory: tuple[ObjectRef, ...] | None  # None: unreadable, so nothing is pruned
    inventory_error: str | None = None
    previous: Inventory | None = None  # the inventory as read (refs, revision, status)


def read_live(client: ZoneClient, rendered: RenderedZone, *, adopt: bool = False) -> LiveState:
    """Raises the shell's errors (Unreachable, Forbidden, ...) when the zone cannot be read."""
    live: dict[ObjectRef, dict[str, Any] | None] = {}
    dry_run: dict[ObjectRef, dict[str, Any] | None] = {}
    for manifest in rendered:
        ref = manifest.ref
        current = client.get(ref.api_version, ref.kind, ref.namespace, ref.name)
        live[ref] = current
        # Only an existing object of ours (or one being adopted) is worth a dry run: creates need none, and
        # foreign objects are never written.
        if current is not None and (adopt or is_ours(current.get("metadata", {}).get("labels"))):
            dry_run[ref] = client.apply(manifest.obj(), dry_run=True, force=True)
    inventory: tuple[ObjectRef, ...] | None
    error, previous = None, None
    try:
        previous = read_inventory(client, rendered.namespace)
        inventory = previous.refs
    except InventoryUnreadable as unreadable:
        inventory, error = None, str(unreadable)
    for ref in prune_candidates(inventory, live):
        live[ref] = client.get(ref.api_version, ref.kind, ref.namespace, ref.name)
    return LiveState(live, dry_run, inventory, error, previous)


def plan_zone(client: ZoneClient, rendered: RenderedZone, *, adopt: bool = False) -> tuple[ZonePlan, LiveState]:
    state = read_live(client, rendered, adopt=adopt)
    changes = plan_kubernetes(rendered.manifests, state.live, state.dry_run, state.inventory, adopt=adopt)
    return ZonePlan(rendered.zone, rendered.revision, changes, error=None), state
