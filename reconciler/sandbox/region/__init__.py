"""A whole sandbox region on this machine, kept up by a supervisor process: `edgeops sandbox up | status | down`.

- `layout`: where the region's state lives (`.sandbox/`)
- `fleetrepo`: the fleet repository seeded from the template, its models built and pushed to the local registry
- `supervisor`: the process that brings every part up and down (`python -m reconciler.sandbox.region run`)
- `control`: spawning and following the supervisor, probing the parts, stopping everything (also after SIGKILL)
"""

from reconciler.sandbox.region.control import (
    DownReport,
    PartHealth,
    RegionHealth,
    Traffic,
    follow_progress,
    probe_region,
    start_supervisor,
    stop_region,
    supervisor_record,
    traffic,
)
from reconciler.sandbox.region.fleetrepo import FleetRepo, FleetRepoError, seed_fleet_repo
from reconciler.sandbox.region.layout import DEFAULT_STATE, Layout
from reconciler.sandbox.region.supervisor import RegionError, RegionRequest, scrape_targets

__all__ = [
    "DEFAULT_STATE",
    "DownReport",
    "FleetRepo",
    "FleetRepoError",
    "Layout",
    "PartHealth",
    "RegionError",
    "RegionHealth",
    "RegionRequest",
    "Traffic",
    "follow_progress",
    "probe_region",
    "scrape_targets",
    "seed_fleet_repo",
    "start_supervisor",
    "stop_region",
    "supervisor_record",
    "traffic",
]
