"""Reconciling zones: plan against the live cluster, staged server-side apply, inventory prune, health.

Public API (what the CLI, the region loop and the canary / PR-bot code call):

    plan_region(load, region, options)         -> list[ZonePlan]      (format with reconciler.core.plan.format_*)
    apply_region(load, region, options)        -> RegionPass          the region pass: every zone, concurrently,
                                                                      with NATS through the hub when configured;
                                                                      paused zones from their basis (`paused`)
    run_once(load, region, options)            -> list[ZoneResult]    the same pass, synchronously
    apply_zone(client, rendered, options)      -> ZoneResult          one zone, with a ZoneClient you hold
    render_desired(load, region, options)      -> tuple[RenderedZone, ...]

`edgeops apply` and every pass of the region loop (`loop.RegionLoop`) are `apply_region`; `edgeops reconcile`
is wired in `wiring`. `DesiredStateInvalid` is raised before any zone is contacted when the revision does not
load or render.
"""

from reconciler.app.reconcile.apply import ApplyOptions, apply_zone
from reconciler.app.reconcile.health import WORKLOAD_KINDS, wait_healthy, workload_problem
from reconciler.app.reconcile.inventory import WORKING_TREE, Inventory, InventoryUnreadable, read_inventory
from reconciler.app.reconcile.live import LiveState, plan_zone, read_live
from reconciler.app.reconcile.paused import History, PausedUnresolved, repository_history
from reconciler.app.reconcile.region import (
    DesiredStateInvalid,
    RegionOptions,
    ZoneTarget,
    plan_one,
    plan_region,
    render_desired,
    targets,
)
from reconciler.app.reconcile.regionpass import PassObserver, RegionPass, apply_one, apply_region, run_once
from reconciler.app.reconcile.telemetry import LoopMetrics, serve_page
from reconciler.app.reconcile.trust import CommitTrust, TrustDecision, root_policy, verify_revision
from reconciler.app.reconcile.wiring import ReconcilerSettings, clone_path, repo_url, run_reconciler
from reconciler.app.reconcile.zones import connect_zone, context_for

__all__ = [
    "WORKING_TREE",
    "WORKLOAD_KINDS",
    "ApplyOptions",
    "CommitTrust",
    "DesiredStateInvalid",
    "History",
    "Inventory",
    "InventoryUnreadable",
    "LiveState",
    "LoopMetrics",
    "PassObserver",
    "PausedUnresolved",
    "ReconcilerSettings",
    "RegionOptions",
    "RegionPass",
    "TrustDecision",
    "ZoneTarget",
    "apply_one",
    "apply_region",
    "apply_zone",
    "clone_path",
    "connect_zone",
    "context_for",
    "plan_one",
    "plan_region",
    "plan_zone",
    "read_inventory",
    "read_live",
    "render_desired",
    "repo_url",
    "repository_history",
    "root_policy",
    "run_once",
    "run_reconciler",
    "serve_page",
    "targets",
    "verify_revision",
    "wait_healthy",
    "workload_problem",
]
