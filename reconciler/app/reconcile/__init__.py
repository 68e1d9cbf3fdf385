"""Reconciling zones: plan against the live cluster, staged server-side apply, inventory prune, health.

Public API (what the CLI, the region loop and the canary / PR-bot code call):

    plan_region(load, region, options)         -> list[ZonePlan]      (format with reconciler.core.plan.format_*)
    run_once(load, region, options)            -> list[ZoneResult]    one pass over every zone, concurrently
    apply_zone(client, rendered, options)      -> ZoneResult          one zone, with a ZoneClient you hold
    render_desired(load, region, options)      -> tuple[RenderedZone, ...]

`DesiredStateInvalid` is raised before any zone is contacted when the revision does not load or render.
"""

from reconciler.app.reconcile.apply import ApplyOptions, apply_zone
from reconciler.app.reconcile.health import deployment_problem, wait_healthy
from reconciler.app.reconcile.inventory import Inventory, InventoryUnreadable, read_inventory
from reconciler.app.reconcile.live import LiveState, plan_zone, read_live
from reconciler.app.reconcile.region import (
    WORKING_TREE,
    DesiredStateInvalid,
    RegionOptions,
    apply_one,
    apply_region,
    plan_one,
    plan_region,
    render_desired,
    run_once,
)
from reconciler.app.reconcile.zones import connect_zone, context_for

__all__ = [
    "WORKING_TREE",
    "ApplyOptions",
    "DesiredStateInvalid",
    "Inventory",
    "InventoryUnreadable",
    "LiveState",
    "RegionOptions",
    "apply_one",
    "apply_region",
    "apply_zone",
    "connect_zone",
    "context_for",
    "deployment_problem",
    "plan_one",
    "plan_region",
    "plan_zone",
    "read_inventory",
    "read_live",
    "render_desired",
    "run_once",
    "wait_healthy",
]
