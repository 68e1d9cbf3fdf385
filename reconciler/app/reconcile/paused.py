"""A paused zone in a region pass: what it runs is known only to the zone itself. Its inventory names the revision
it was last reconciled to (its *basis*, kept while it stays paused); that revision's desired state, with the
branch's rollbacks applied (`core.render.paused_view`), is what the pass applies there — so a merged rollback
reaches a paused zone like any other, and nothing else does.

    history = repository_history(path)                       # desired state at any commit of the repository
    spec, rendered = paused_desired(client, head, "ams-01", revision, history, render_options)
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

from reconciler.app.reconcile.inventory import WORKING_TREE, read_inventory
from reconciler.core.load import load_tree
from reconciler.core.render import RenderedZone, RenderError, RenderOptions, paused_view, render_zone
from reconciler.core.spec import FleetSpec
from reconciler.shells.kube import ZoneClient
from reconciler.shells.tree import TreeReadError, read_revision

# The desired state at a commit of the fleet repository; None when the commit cannot be read or does not load.
History = Callable[[str], FleetSpec | None]


class PausedUnresolved(Exception):
    """What a paused zone keeps cannot be known (never applied, applied from a working tree, its basis commit
    gone or invalid): nothing is applied there, and the message says why."""


def repository_history(path: Path) -> History:
    """Read commits of the repository at `path` (a clone or a bare repository); the newest few are cached."""

    @functools.lru_cache(maxsize=8)
    def at(revision: str) -> FleetSpec | None:
        try:
            return load_tree(read_revision(path, revision)).spec
        except TreeReadError:
            return None

    return at


def paused_desired(
    client: ZoneClient,
    head: FleetSpec,
    zone: str,
    revision: str,
    *,
    history: History | None,
    options: RenderOptions,
) -> tuple[FleetSpec, RenderedZone]:
    """The paused zone's desired state: its basis with the branch's rollbacks, stamped with `revision` (the commit
    whose rollbacks it now has). Raises `PausedUnresolved`, and the kube shell's errors when the zone cannot be
    read (`InventoryUnreadable` included)."""
    inventory = read_inventory(client, options.namespace)
    basis = inventory.basis or inventory.revision
    if basis is None:
        raise PausedUnresolved("paused before its first apply: nothing applied")
    if basis == WORKING_TREE:
        raise PausedUnresolved("paused; it was last applied from a working tree, which no commit records")
    spec = history(basis) if history is not None else None
    if spec is None:
        raise PausedUnresolved(
            f"paused at {basis[:12]}, which cannot be read from the repository (or does not load); "
            "nothing applied — resume the zone to reconcile it again"
        )
    view = paused_view(spec, head, zone)
    if view is None:
        raise PausedUnresolved(f"paused at {basis[:12]}, where the zone does not exist; nothing applied")
    try:
        return view.spec, render_zone(view.spec, view.zone, revision, options, basis=basis)
    except RenderError as error:
        raise PausedUnresolved(f"paused at {basis[:12]}, which no longer renders: {error}") from error
