"""Several independent zone clusters on loopback and the one kubeconfig that reaches them all."""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Any

from reconciler.sandbox.localkube.binaries import KubeBinaries, find_binaries
from reconciler.sandbox.localkube.crds import default_crd_dir, load_crds
from reconciler.sandbox.localkube.errors import LocalKubeError
from reconciler.sandbox.localkube.kubeconfig import write_kubeconfig
from reconciler.sandbox.localkube.zone import LocalZone, ZoneOptions

# A zone name becomes a context name and a directory name.
_ZONE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


class LocalKube:
    """Zones under `workdir` (a fresh temporary directory when None, removed by `close`).

    `parallel` bounds how many zones start at once: an apiserver start is CPU-bound for a few seconds, and on a
    2-core machine starting many together only makes each slower.
    """

    def __init__(
        self,
        workdir: Path | None = None,
        *,
        binaries: KubeBinaries | None = None,
        crd_dir: Path | None = None,
        parallel: int = 2,
    ) -> None:
        self._owns_workdir = workdir is None
        # absolute: the paths end up in kubeconfigs read by processes with other working directories
        self.workdir = (
            workdir if workdir is not None else Path(tempfile.mkdtemp(prefix="edgeops-localkube-"))
        ).resolve()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.binaries = binaries or find_binaries()
        self.crd_dir = crd_dir or default_crd_dir()
        self._crds: tuple[dict[str, Any], ...] = load_crds(self.crd_dir)
        self._parallel = max(1, parallel)
        self._zones: dict[str, LocalZone] = {}
        self._lock = threading.Lock()
        self.kubeconfig = self.workdir / "kubeconfig"

    @property
    def zones(self) -> Mapping[str, LocalZone]:
        return dict(self._zones)

    def zone(self, name: str) -> LocalZone:
        try:
            return self._zones[name]
        except KeyError:
            raise LocalKubeError(f"no zone {name!r}; zones: {', '.join(self._zones) or 'none'}") from None

    def start_zones(self, names: Iterable[str], options: ZoneOptions | None = None) -> list[LocalZone]:
        """Start the named zones (at most `parallel` at a time) and rewrite the kubeconfig.

        If any zone fails, the zones started by this call are closed and the first error is raised.
        """
        names = list(names)
        for name in names:
            if not _ZONE_NAME.match(name):
                raise LocalKubeError(f"zone name {name!r} must be a DNS label (lowercase letters, digits, '-')")
            if name in self._zones or names.count(name) > 1:
                raise LocalKubeError(f"zone {name!r} is already part of this environment")
        new = [LocalZone(name, self.workdir / "zones" / name, self.binaries, self._crds, options) for name in names]
        with self._lock:
            self._zones.update((zone.name, zone) for zone in new)
        pool = ThreadPoolExecutor(max_workers=self._parallel, thread_name_prefix="localkube")
        try:
            failures = [f.exception() for f in [pool.submit(zone.start) for zone in new]]
        except BaseException:
            # Interrupted (Ctrl-C, SIGTERM turned into KeyboardInterrupt): stop the other starts promptly
            # instead of letting them finish, then remove what they started.
            for zone in new:
                zone.cancel()
            pool.shutdown(wait=True, cancel_futures=True)
            self._discard(new)
            raise
        pool.shutdown(wait=True)
        first_error = next((e for e in failures if e is not None), None)
        if first_error is not None:
            self._discard(new)
            raise first_error
        self.write_kubeconfig()
        return new

    def _discard(self, zones: list[LocalZone]) -> None:
        for zone in zones:
            zone.close()
            with self._lock:
                self._zones.pop(zone.name, None)

    def write_kubeconfig(self) -> Path:
        with self._lock:
            write_kubeconfig(self.kubeconfig, list(self._zones.values()))
        return self.kubeconfig

    def remove_zone(self, name: str) -> None:
        zone = self.zone(name)
        zone.close()
        with self._lock:
            del self._zones[name]
        self.write_kubeconfig()

    def failure_report(self, lines: int = 30) -> str:
        return "\n\n".join(zone.failure_report(lines) for zone in self._zones.values())

    def close(self) -> None:
        """Stop every zone (concurrently: each waits seconds for graceful shutdowns); remove the working
        directory if this object created it."""
        zones = list(self._zones.values())
        if zones:
            with ThreadPoolExecutor(max_workers=len(zones), thread_name_prefix="localkube-close") as pool:
                list(pool.map(LocalZone.close, zones))
        if self._owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> LocalKube:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
