"""The PromQL the fleet view reads, over the runtime's series (`runtime/metrics.py`, `runtime/artifacts/puller.py`);
every series carries the zone label the scrape gives each runtime."""

from __future__ import annotations

from collections.abc import Iterable

MODEL_INFO = "edgeops_model_info"
PULL_FAILURES = "edgeops_model_pull_failures_total"
PULL_LAST_SUCCESS = "edgeops_model_pull_last_success_timestamp_seconds"


def _zones(zones: Iterable[str]) -> str:
    # Zone names are DNS labels (validated by the spec); escaped anyway, a regex is text.
    names = "|".join(sorted(z.replace("\\", "\\\\").replace('"', '\\"').replace(".", "\\\\.") for z in zones))
    return f'zone=~"{names}"'


def served(zones: Iterable[str]) -> str:
    """One series per zone, model, version, track and digest a runtime serves now."""
    return f"max by (zone, model, version, track, digest) ({MODEL_INFO}{{{_zones(zones)}}} == 1)"


def pull_failures(zones: Iterable[str], window: str = "15m") -> str:
    """Model pull failures per zone and model over the last `window`."""
    return f"sum by (zone, model) (increase({PULL_FAILURES}{{{_zones(zones)}}}[{window}]))"


def pull_last_success(zones: Iterable[str]) -> str:
    return f"max by (zone, model) ({PULL_LAST_SUCCESS}{{{_zones(zones)}}})"
