"""The fleet view read from the real sources: `region_status` (the `edgeops status` table)."""

from reconciler.app.fleetview.read import (
    RegionStatus,
    StatusOptions,
    read_runtime,
    read_zone,
    region_status,
    regions_of,
)

__all__ = ["RegionStatus", "StatusOptions", "read_runtime", "read_zone", "region_status", "regions_of"]
