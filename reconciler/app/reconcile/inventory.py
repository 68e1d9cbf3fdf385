"""The inventory: what we applied to a zone, kept in the zone as a ConfigMap in our namespace.

Prune is previous inventory minus desired, so the inventory must never lose an object we may have created:
it is written as (previous ∪ desired) before anything beyond the namespace is applied, and narrowed to
(desired ∪ objects whose prune failed) after pruning. An inventory that exists but cannot be parsed, or cannot be
read, is an error: the caller then prunes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from reconciler.core.render import INVENTORY, ObjectRef, is_ours, ownership_labels
from reconciler.shells.kube import KubeError, ZoneClient

_KEY = "objects.json"
WORKING_TREE = "working-tree"  # the revision recorded by an apply of a working tree (no commit to name)


class InventoryUnreadable(Exception):
    """The inventory exists but cannot be read or parsed; nothing may be pruned in this zone."""


@dataclass(frozen=True)
class Inventory:
    refs: tuple[ObjectRef, ...]
    revision: str | None
    status: str | None = None
    basis: str | None = None  # a paused zone: the revision whose desired state it keeps; None when not paused


def read_inventory(client: ZoneClient, namespace: str) -> Inventory:
    """The zone's inventory; an empty one when there is none yet (a zone we never applied to)."""
    try:
        found = client.get("v1", "ConfigMap", namespace, INVENTORY)
    except KubeError as error:
        raise InventoryUnreadable(
            f"zone {client.zone}: cannot read inventory {namespace}/{INVENTORY}: {error}"
        ) from error
    if found is None:
        return Inventory((), None)
    if not is_ours(found.get("metadata", {}).get("labels")):
        raise InventoryUnreadable(
            f"zone {client.zone}: {namespace}/{INVENTORY} exists but is not ours (no managed-by label)"
        )
    data = found.get("data") or {}
    try:
        refs = tuple(sorted(ObjectRef.from_json(item) for item in json.loads(data[_KEY])))
    except (KeyError, TypeError, ValueError) as error:
        raise InventoryUnreadable(
            f"zone {client.zone}: inventory {namespace}/{INVENTORY} is malformed ({type(error).__name__}: {error})"
        ) from error
    return Inventory(refs, data.get("revision") or None, data.get("status") or None, data.get("basis") or None)


class InventoryWriter:
    """Writes the inventory only when it would change: a pass over an unchanged zone writes nothing."""

    def __init__(
        self,
        client: ZoneClient,
        namespace: str,
        previous: Inventory | None,
        before_write: Callable[[], None] = lambda: None,
    ) -> None:
        self._client = client
        self._namespace = namespace
        self._last = previous
        self._before_write = before_write  # raises when writing is no longer allowed (the apply's fence)

    def write(self, refs: Iterable[ObjectRef], revision: str, status: str, basis: str | None = None) -> None:
        wanted = Inventory(tuple(sorted(set(refs))), revision, status, basis)
        if wanted == self._last:
            return
        self._before_write()
        write_inventory(self._client, self._namespace, wanted.refs, revision, status, basis=basis)
        self._last = wanted


def write_inventory(
    client: ZoneClient,
    namespace: str,
    refs: Iterable[ObjectRef],
    revision: str,
    status: str = "",
    *,
    basis: str | None = None,
) -> None:
    unique = sorted(set(refs))
    paused = {"basis": basis} if basis is not None else {}
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": INVENTORY, "namespace": namespace, "labels": ownership_labels(client.zone)},
        "data": {
            _KEY: json.dumps([r.to_json() for r in unique], indent=1, sort_keys=True),
            "revision": revision,
            "status": status,
            **paused,
        },
    }
    client.apply(body, force=True)
