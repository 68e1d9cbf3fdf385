"""The fleet view read from the real sources: `region_status` (the `edgeops status` table) and `fleet_page` (the
fleet web page)."""

from reconciler.app.fleetview.page import PageSources, fleet_page, gather_page, start_fleet_page
from reconciler.app.fleetview.read import (
    RegionStatus,
    StatusOptions,
    read_runtime,
    read_zone,
    region_status,
)

__all__ = [
    "PageSources",
    "RegionStatus",
    "StatusOptions",
    "fleet_page",
    "gather_page",
    "read_runtime",
    "read_zone",
    "region_status",
    "start_fleet_page",
]
