"""The fleet view: one row per zone from what was read of the zones, the branch and Prometheus (`rows`), as text
or JSON (`text`), the queries it reads (`promql`)."""

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
    "ModelRow",
    "PullReading",
    "Served",
    "ZoneReading",
    "ZoneRow",
    "format_json",
    "format_text",
    "pull_failures",
    "pull_last_success",
    "served",
    "zone_rows",
]
