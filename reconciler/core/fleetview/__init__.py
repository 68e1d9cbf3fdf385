"""The fleet view (the page: `page`): one row per zone from what was read of the zones, the branch and Prometheus (`rows`), as text
or JSON (`text`), the queries it reads (`promql`)."""

from reconciler.core.fleetview.page import (
    CanaryPanel,
    FleetPage,
    Link,
    Point,
    RegionTable,
    render_page,
    svg_chart,
)
from reconciler.core.fleetview.promql import pull_failures, pull_last_success, served
from reconciler.core.fleetview.rows import (
    DEGRADED,
    UNREACHABLE,
    ModelRow,
    PullReading,
    Served,
    ZoneReading,
    ZoneRow,
    zone_rows,
)
from reconciler.core.fleetview.text import format_json, format_text

__all__ = [
    "DEGRADED",
    "UNREACHABLE",
    "CanaryPanel",
    "FleetPage",
    "Link",
    "ModelRow",
    "Point",
    "PullReading",
    "RegionTable",
    "Served",
    "ZoneReading",
    "ZoneRow",
    "format_json",
    "format_text",
    "pull_failures",
    "pull_last_success",
    "render_page",
    "served",
    "svg_chart",
    "zone_rows",
]
