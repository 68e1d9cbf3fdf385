"""Local zone clusters for a region and reconcile passes against them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from reconciler.app.reconcile import ApplyOptions, RegionOptions, context_for, run_once
from reconciler.core.load import LoadResult
from reconciler.core.plan import ZoneResult
from reconciler.sandbox.localkube import LocalKube, ZoneOptions


@dataclass(frozen=True)
class PassReport:
    number: int
    results: tuple[ZoneResult, ...]


class SandboxClusters:
    """One local control plane per zone of `region`, named by the zone's kubeconfig context.

    State is kept in SQLite under `state_dir`, so a second sandbox run finds what the first applied.
    """

    def __init__(self, load: LoadResult, region: str, state_dir: Path) -> None:
        assert load.spec is not None, "the sandbox starts only from valid desired state"
        self.zones = load.spec.zones_in(region)
        self.contexts = [context_for(z) for z in self.zones]
        self._kube = LocalKube(state_dir / "kube")

    def __enter__(self) -> SandboxClusters:
        self._kube.__enter__()
        self._kube.start_zones(self.contexts, ZoneOptions(storage="sqlite"))
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self._kube.__exit__(kind, error, tb)

    @property
    def kubeconfig(self) -> Path:
        return self._kube.kubeconfig

    def failure_report(self) -> str:
        return self._kube.failure_report()


def reconcile_passes(
    load: LoadResult, region: str, kubeconfig: Path, passes: int = 2, health_timeout_s: float = 5.0
) -> list[PassReport]:
    """Run `passes` reconcile passes; the second one shows what a steady state costs (normally: no writes)."""
    options = RegionOptions(kubeconfig=kubeconfig, apply=ApplyOptions(health_timeout_s=health_timeout_s))
    return [PassReport(n, tuple(run_once(load, region, options))) for n in range(1, passes + 1)]
