"""When to pull: every deployment's `pull.interval_s`, and, for updates, only inside its UTC `pull.window`.

The first pull of a deployment ignores the window: with nothing local the zone cannot serve at all. After that a
new digest (a config change) is fetched and handed over only inside the window; failures are retried on the
next interval. Whatever fails, the model manager keeps the model it is serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, time
from pathlib import Path

from runtime.artifacts.errors import PullError
from runtime.artifacts.puller import ModelPuller
from runtime.config import ModelDeploymentConfig, PullWindowConfig

log = logging.getLogger(__name__)

OnUpdate = Callable[[ModelDeploymentConfig, Path], Awaitable[None]]


def _hhmm(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def in_window(now: datetime, window: PullWindowConfig | None) -> bool:
    """Is `now` (converted to UTC) inside [start, end)? `end` before `start` wraps past midnight; start == end
    means the whole day."""
    if window is None:
        return True
    current = now.astimezone(UTC).time().replace(second=0, microsecond=0)
    start, end = _hhmm(window.start), _hhmm(window.end)
    if start == end:
        return True
    if start < end:
        return start <= current < end
    return current >= start or current < end


class PullScheduler:
    """One loop per deployment; `on_update(deployment, path)` is the model manager's load-and-swap. If it raises,
    the failure is counted with reason `load` and the same file is offered again on the next interval."""

    def __init__(
        self,
        puller: ModelPuller,
        deployments: Sequence[ModelDeploymentConfig],
        on_update: OnUpdate,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.puller = puller
        self.deployments = tuple(deployments)
        self.on_update = on_update
        self._clock = clock
        self._serving: dict[str, str] = {}  # deployment_id -> digest handed over successfully

    def reconfigure(self, deployments: Sequence[ModelDeploymentConfig]) -> None:
        """A new runtime config: the next attempt per deployment pulls its (possibly new) digest; what is serving
        keeps serving until that succeeds. Takes effect in `run()` loops on their next interval."""
        self.deployments = tuple(deployments)

    def serving_digest(self, deployment: ModelDeploymentConfig) -> str | None:
        return self._serving.get(deployment.deployment_id)

    async def pull_once(self, deployment: ModelDeploymentConfig) -> bool:
        """One scheduled attempt; True when the configured digest is what the model manager now serves."""
        wanted = deployment.artifact.digest
        current = self._serving.get(deployment.deployment_id)
        if current == wanted:
            return True
        if current is not None and not in_window(self._clock(), deployment.pull.window):
            return False
        local = Path(deployment.artifact.local_path) if deployment.artifact.local_path else None
        try:
            path = await self.puller.ensure(
                deployment.artifact.ref, wanted, model=deployment.deployment_id, local_path=local
            )
        except PullError as error:
            log.warning("pull %s %s failed, keeping the current model: %s", deployment.deployment_id, wanted, error)
            return False
        try:
            await self.on_update(deployment, path)
        except Exception as error:  # the model manager's load failed for any reason: count it, keep serving
            log.warning("load %s from %s failed, keeping the current model: %s", deployment.deployment_id, path, error)
            self.puller.record_failure(deployment.deployment_id, f"load {path}: {error}", reason="load")
            return False
        self._serving[deployment.deployment_id] = wanted
        keep = set(self._serving.values()) | {d.artifact.digest for d in self.deployments}
        with contextlib.suppress(OSError):
            self.puller.prune(keep)
        return True

    async def _loop(self, deployment_id: str) -> None:
        while True:
            deployment = next((d for d in self.deployments if d.deployment_id == deployment_id), None)
            if deployment is None:
                return
            await self.pull_once(deployment)
            await asyncio.sleep(deployment.pull.interval_s)

    async def run(self) -> None:
        """Run until cancelled."""
        async with asyncio.TaskGroup() as group:
            for deployment in self.deployments:
                group.create_task(self._loop(deployment.deployment_id), name=f"pull:{deployment.deployment_id}")
