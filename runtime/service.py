"""`edgeops serve`: wires config, models, feature store, sources, checkpoints, HTTP endpoints and signals.

Lifecycle: load config -> open the feature store -> connect NATS -> load and warm up every model -> claim the lease
of every partition this replica owns (`runtime.lease`; waits for the previous owner) -> restore each deployment's
windows (from the file; one the file has nothing of, on a new node, after an unreadable file was set aside or when
another process consumed the partition since, from its changelog, `runtime.changelog`) -> recover each consumer's
unacked tail -> ready -> serve. A partitioned deployment runs one consumer, windows, changelog and lease per
partition this replica owns (`units`). SIGTERM/SIGINT stop fetching, let in-flight batches publish, write a last
checkpoint, ack, flush the changelogs, release the leases, and exit 0. A lease given up (not renewed in time, or
taken) drains and restarts the service in-process, which claims it anew.

Config changes (the ConfigMap is re-read every second): a new version/digest of a deployment is loaded and
warmed up beside the old one and swapped in between batches; if it fails, the old model keeps serving and
`edgeops_model_load_failures_total` counts it. Any other change drains and restarts the service in-process.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runtime.artifacts import ModelPuller, PullMetrics, PullScheduler
from runtime.changelog import DeploymentChangelog
from runtime.checkpoint import Checkpointer
from runtime.config import ConfigError, ModelDeploymentConfig, RuntimeConfig, load_runtime_config
from runtime.lease import Observed, PartitionLease, store_id, trust_local
from runtime.metrics import Health, Metrics, serve_http
from runtime.nats_connection import connect_nats
from runtime.pipeline import DeploymentPipeline
from runtime.publish import Publisher
from runtime.session import LoadedModel, ModelLoadError, load_model
from runtime.sources import JetStreamSource, MqttSource, Source, SyntheticTraffic
from runtime.store import DeploymentWindows, FeatureStore
from runtime.tracing import setup_tracing, shutdown_tracing

log = logging.getLogger("edgeops.runtime")


def _hot_swappable(old: RuntimeConfig, new: RuntimeConfig) -> bool:
    """True when the only differences are model versions/artifacts of the same deployments."""
    if old.model_copy(update={"models": ()}) != new.model_copy(update={"models": ()}):
        return False
    if [m.deployment_id for m in old.models] != [m.deployment_id for m in new.models]:
        return False
    return all(
        o.model_copy(update={"version": n.version, "artifact": n.artifact}) == n
        for o, n in zip(old.models, new.models, strict=True)
    )


@dataclass
class _Wiring:
    """What every deployment's start shares: the feature store (and its id), NATS, JetStream, publisher, checkpointer."""

    store: FeatureStore
    store_id: str
    nc: Any
    js: Any
    publisher: Publisher
    checkpointer: Checkpointer
    changelogs: list[DeploymentChangelog] = field(default_factory=list)


class Service:
    def __init__(
        self, config: RuntimeConfig, config_path: Path, metrics: Metrics, health: Health, puller: ModelPuller
    ) -> None:
        self.config = config
        puller.trust(config.model_signing_keys)
        self.scheduler = PullScheduler(puller, config.models, on_update=self._on_pulled)
        self.config_path = config_path
        self.metrics = metrics
        self.health = health
        self.stopping = asyncio.Event()
        self.reload_to: RuntimeConfig | None = None
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="edgeops-store")
        self.loader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="edgeops-loader")
        self.pipelines: dict[str, DeploymentPipeline] = {}
        self.sources: list[Source] = []
        self.leases: dict[str, PartitionLease] = {}  # unit id -> its partition's lease, once held
        self._lease_tasks: list[asyncio.Task[None]] = []
        self._leases_done = asyncio.Event()  # renewals go on through the drain, until the leases are released
        self._background: set[asyncio.Task[Any]] = set()

    async def _load(self, deployment: ModelDeploymentConfig) -> LoadedModel:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.loader, load_model, deployment, Path(self.config.model_dir))

    async def _load_until_ready(self, deployment: ModelDeploymentConfig) -> LoadedModel | None:
        delay = 1.0
        path = deployment.artifact.path_in(Path(self.config.model_dir))
        waiting_logged = False
        while not self.stopping.is_set():
            if not path.exists():  # the puller has not placed it yet: not a failure
                if not waiting_logged:
                    log.info("%s: waiting for %s", deployment.deployment_id, path)
                    waiting_logged = True
                await asyncio.sleep(0.2)
                continue
            try:
                model = await self._load(deployment)
                log.info(
                    "%s: serving %s (%s) on %s",
                    deployment.deployment_id,
                    deployment.version,
                    model.digest[:19],
                    model.provider,
                )
                return model
            except ModelLoadError as exc:
                self.metrics.model_load_failures.labels(self.config.zone, deployment.name, deployment.track).inc()
                log.error("%s: %s; retrying", deployment.deployment_id, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
        return None

    async def run(self) -> RuntimeConfig | None:
        """Serve until stopped; returns the new config when a structural change needs a restart."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stopping.set)
        cfg = self.config
        store = await loop.run_in_executor(
            self.executor, FeatureStore, Path(cfg.feature_store.path), cfg.feature_store.max_keys
        )
        checkpointer = Checkpointer(store, self.metrics, self.executor, cfg.feature_store.flush_rows)
        nc = await connect_nats(cfg, self.stopping)
        js = nc.jetstream()
        publisher = Publisher(js, self.stopping)
        tasks: list[asyncio.Task[Any]] = []
        # The puller places each deployment's artifact (from the cache, or fetched by digest); the loader below
        # waits for the file, so the pull runs first and keeps running for later digests.
        pull_task = asyncio.create_task(self.scheduler.run(), name="model-pull")
        wiring = _Wiring(store, store_id(Path(cfg.feature_store.path)), nc, js, publisher, checkpointer)
        try:
            for deployment in cfg.models:
                started = await self._start_deployment(deployment, wiring)
                if started is None:
                    break
                tasks.extend(started)
                tasks.extend(self._optional_sources(deployment, self._pipelines_of(deployment.deployment_id)[-1],
                                                    publisher, checkpointer, nc))  # fmt: skip
            # Windows are restored: from now on a child process does the DuckDB side of checkpoints, so that
            # DuckDB's statement planning (which holds the GIL) stays out of the event loop's way.
            await loop.run_in_executor(self.executor, store.hand_over_writes)
            changelog_tasks = [asyncio.create_task(c.run(self.stopping)) for c in wiring.changelogs]
            # Everything loaded so far lives as long as the process: keep it out of the collector's full
            # passes, which would otherwise show up as latency spikes.
            gc.collect()
            gc.freeze()
            checkpoint_task, watch_task = (
                asyncio.create_task(checkpointer.run(cfg.feature_store.flush_interval_ms / 1000, self.stopping)),
                asyncio.create_task(self._watch_config()),
            )
            await self._supervise(tasks, store)
            self.health.ready = False
            self.metrics.ready.set(0)
            log.info("draining")
            await asyncio.gather(*tasks, return_exceptions=True)
            await checkpoint_task
            watch_task.cancel()
            await checkpointer.checkpoint()
            await _last_flush(changelog_tasks, wiring.changelogs)
            await self._release_leases()
        finally:
            self.stopping.set()
            pull_task.cancel()
            self._leases_done.set()
            for task in self._lease_tasks:
                task.cancel()
            for task in tasks:
                task.cancel()
            # flush + close rather than drain: the sources have unsubscribed already, and everything we owe
            # (acks) is flushed here.
            try:
                await asyncio.wait_for(nc.flush(), 5)
            except Exception as exc:
                log.debug("nats flush: %r", exc)
            await nc.close()
            await loop.run_in_executor(self.executor, store.close)
            self.executor.shutdown(wait=True)
            self.loader.shutdown(wait=False, cancel_futures=True)
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
        return self.reload_to

    async def _start_deployment(
        self, deployment: ModelDeploymentConfig, wiring: _Wiring
    ) -> list[asyncio.Task[None]] | None:
        """Load the model, claim the partitions' leases, restore each unit's windows and start its source; None when
        stopping first."""
        model = await self._load_until_ready(deployment)
        if model is None:
            return None
        mine = units(deployment)
        previous = await self._acquire_leases(wiring.js, mine, wiring.store_id)
        if previous is None:
            return None
        tasks = []
        for unit_id, unit in mine:
            local = unit_id not in previous or trust_local(previous[unit_id], wiring.store_id)
            windows, replay_from = await self._restore(wiring, unit_id, unit, local=local)
            pipeline = DeploymentPipeline(unit, model, windows, self.metrics, self.config.zone)
            self.pipelines[unit_id] = pipeline
            lease = self.leases.get(unit_id)
            source = JetStreamSource(wiring.nc, pipeline, wiring.publisher, wiring.checkpointer.settle_later,
                                     self.stopping, replay_from=replay_from,
                                     may_fetch=lease.valid if lease else lambda: True)  # fmt: skip
            tasks.append(self._start(source, f"source:{unit_id}"))
        return tasks

    async def _acquire_leases(
        self, js: Any, mine: list[tuple[str, ModelDeploymentConfig]], store: str
    ) -> dict[str, Observed] | None:
        """Claim the lease of every partition among `mine`, all at once (each old owner releases its own), renewing
        each from the moment it is held; returns the version each claim replaced, or None when stopping first."""

        async def claim(unit_id: str, unit: ModelDeploymentConfig) -> tuple[str, Observed | None]:
            assert unit.partitions is not None and unit.state is not None  # noqa: PT018 - `units` and the config
            lease = PartitionLease(
                js, unit.state.stream, f"{unit.state.subject}.lease", unit=unit_id, store=store,
                ttl_ms=unit.partitions.lease_ttl_ms, renew_ms=unit.partitions.lease_renew_ms, metrics=self.metrics,
            )  # fmt: skip
            previous = await lease.acquire(self.stopping)
            if previous is not None:
                self.leases[unit_id] = lease
                self._lease_tasks.append(asyncio.create_task(lease.keep(self._leases_done, self._lease_lost)))
            return unit_id, previous

        claims = await asyncio.gather(*(claim(u, d) for u, d in mine if d.partitions is not None))
        if self.stopping.is_set():
            return None
        return {unit_id: previous for unit_id, previous in claims if previous is not None}

    async def _release_leases(self) -> None:
        """After the drain and the last changelog flush, and only then, a partition's next owner may start."""
        self._leases_done.set()
        await asyncio.gather(*self._lease_tasks, return_exceptions=True)
        await asyncio.gather(*(lease.release() for lease in self.leases.values()))

    def _lease_lost(self) -> None:
        """A partition's lease was given up: drain and start again, claiming it anew."""
        if not self.stopping.is_set():
            self.reload_to = self.config
            self.stopping.set()

    async def _restore(
        self, wiring: _Wiring, unit_id: str, deployment: ModelDeploymentConfig, *, local: bool
    ) -> tuple[DeploymentWindows, int | None]:
        """The deployment's windows from the local file (unless `local` is False: another process consumed the
        partition since the file's rows were written), else from its changelog (then written to the file at
        once, whole); and where the source must replay the input from (the changelog's mark), if anywhere."""
        loop = asyncio.get_running_loop()
        store = wiring.store
        if not local:
            dropped = await loop.run_in_executor(self.executor, store.forget, unit_id)
            if dropped:
                log.info("%s: %d local rows dropped: another process consumed the partition since", unit_id,
                         dropped)  # fmt: skip
        windows = await loop.run_in_executor(self.executor, store.deployment, unit_id, deployment.window.size)
        if deployment.state is None:
            return windows, None
        lease = self.leases.get(unit_id)
        changelog = DeploymentChangelog(wiring.js, deployment.state, windows, lease.valid if lease else lambda: True)
        wiring.changelogs.append(changelog)
        if windows.windows:
            return windows, None
        # No local file (a new node), or it was set aside: consuming before the changelog is read would score
        # over empty windows, so wait for it (the reconciler may not have created the stream yet).
        delay = 0.2
        while True:
            try:
                replay_from = await changelog.restore()
                break
            except Exception as exc:
                if self.stopping.is_set():
                    raise
                log.warning("%s: changelog %s not readable (%r); retrying", unit_id,
                            deployment.state.stream, exc)  # fmt: skip
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        store.seed(unit_id)
        await loop.run_in_executor(self.executor, store.write, store.snapshot())
        return windows, replay_from

    def _pipelines_of(self, deployment_id: str) -> list[DeploymentPipeline]:
        return [p for p in self.pipelines.values() if p.config.deployment_id == deployment_id]

    async def _supervise(self, tasks: list[asyncio.Task[Any]], store: FeatureStore) -> None:
        """Until stopped: readiness, gauges; a crashed source task fails the service."""
        while not self.stopping.is_set():
            ready = bool(self.sources) and all(s.ready for s in self.sources)
            self.health.ready = ready and len(self.pipelines) == sum(len(units(d)) for d in self.config.models)
            self.metrics.ready.set(1 if self.health.ready else 0)
            for name, windows in store.deployments.items():
                self.metrics.store_keys.labels(name).set(len(windows.windows))
            for task in tasks:
                if task.done() and not task.cancelled() and (exc := task.exception()) is not None:
                    raise exc
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), 0.5)

    def _start(self, source: Source, name: str) -> asyncio.Task[None]:
        self.sources.append(source)
        return asyncio.create_task(source.run(), name=name)

    def _optional_sources(
        self, deployment: ModelDeploymentConfig, pipeline: DeploymentPipeline, publisher: Publisher,
        checkpointer: Checkpointer, nc: Any,
    ) -> list[asyncio.Task[None]]:  # fmt: skip
        tasks: list[asyncio.Task[None]] = []
        if deployment.mqtt is not None:
            mqtt = MqttSource(deployment.mqtt, pipeline, publisher, checkpointer.settle_later, self.stopping)
            tasks.append(self._start(mqtt, f"mqtt:{deployment.deployment_id}"))
        if deployment.synthetic is not None:
            synthetic = SyntheticTraffic(deployment.synthetic, pipeline, nc, self.pipelines, self.stopping)
            tasks.append(self._start(synthetic, f"synthetic:{deployment.deployment_id}"))
        return tasks

    async def _watch_config(self) -> None:
        last = self.config_path.read_bytes() if self.config_path.exists() else b""
        while not self.stopping.is_set():
            await asyncio.sleep(1.0)
            try:
                text = self.config_path.read_bytes()
            except OSError:
                continue
            if text == last:
                continue
            last = text
            try:
                new = load_runtime_config(self.config_path)
            except ConfigError as exc:
                log.error("config change ignored, keeping the running config:\n%s", exc)
                continue
            if new == self.config:
                continue
            if _hot_swappable(self.config, new):
                await self._swap_models(new)
            else:
                log.info("config changed beyond model versions: draining and restarting")
                self.reload_to = new
                self.stopping.set()

    async def _swap_models(self, new: RuntimeConfig) -> None:
        self.scheduler.reconfigure(new.models)
        for old_dep, new_dep in zip(self.config.models, new.models, strict=True):
            if old_dep == new_dep:
                continue
            if not new_dep.artifact.path_in(Path(new.model_dir)).exists():
                # Not here yet: the puller fetches it (inside the pull window) and hands it to `_on_pulled`.
                log.info("%s: waiting for %s to be pulled", new_dep.deployment_id, new_dep.artifact.digest[:19])
                task = asyncio.create_task(self.scheduler.pull_once(new_dep))
                self._background.add(task)
                task.add_done_callback(self._background.discard)
                continue
            try:
                await self._swap_one(new_dep)
            except ModelLoadError as exc:
                log.error("%s: new model not loaded, keeping %s: %s", new_dep.deployment_id, old_dep.version, exc)

    async def _on_pulled(self, deployment: ModelDeploymentConfig, path: Path) -> None:
        """The puller's hand-over: swap if this deployment serves another digest (raises if the load fails)."""
        pipeline = next(iter(self._pipelines_of(deployment.deployment_id)), None)
        if pipeline is None or pipeline.digest == deployment.artifact.digest:
            return  # first load is the loader's; or already serving it
        try:
            await self._swap_one(deployment)
        except ModelLoadError as exc:
            log.error("%s: pulled model not loaded, keeping %s: %s", deployment.deployment_id,
                      pipeline.config.version, exc)  # fmt: skip
            raise

    async def _swap_one(self, new_dep: ModelDeploymentConfig) -> None:
        """Load, check and warm up beside the serving model, then swap between batches; on failure the old
        model keeps serving and the failure is counted."""
        pipelines = self._pipelines_of(new_dep.deployment_id)
        try:
            model = await self._load(new_dep)
        except ModelLoadError:
            self.metrics.model_load_failures.labels(self.config.zone, new_dep.name, new_dep.track).inc()
            raise
        if not pipelines:
            return
        old_version = pipelines[0].config.version
        for pipeline in pipelines:  # every partition this replica owns; each keeps its own consumer and changelog
            pipeline.swap(model)
            pipeline.config = new_dep.model_copy(
                update={"subjects": pipeline.config.subjects, "state": pipeline.config.state}
            )
        served = tuple(new_dep if m.deployment_id == new_dep.deployment_id else m for m in self.config.models)
        self.config = self.config.model_copy(update={"models": served})
        log.info("%s: swapped %s -> %s", new_dep.deployment_id, old_version, new_dep.version)


def units(deployment: ModelDeploymentConfig) -> list[tuple[str, ModelDeploymentConfig]]:
    """What this process consumes of a deployment, each with the id of its windows: the deployment itself, or each
    partition this replica owns (`PartitionsConfig`) with its durable `<durable>-p<p>` and changelog `<subject>.p<p>`."""
    parts = deployment.partitions
    if parts is None:
        return [(deployment.deployment_id, deployment)]
    out = []
    for p in parts.owned(parts.ordinal_from(os.environ)):
        update: dict[str, Any] = {
            "subjects": deployment.subjects.model_copy(update={"durable": f"{deployment.subjects.durable}-p{p}"})
        }
        if deployment.state is not None:
            update["state"] = deployment.state.model_copy(update={"subject": f"{deployment.state.subject}.p{p}"})
        out.append((f"{deployment.deployment_id}.p{p}", deployment.model_copy(update=update)))
    return out


async def _last_flush(tasks: list[asyncio.Task[None]], changelogs: list[DeploymentChangelog]) -> None:
    """After the drain: the changelogs' last windows (a failure only means a longer replay after a disk loss)."""
    await asyncio.gather(*tasks)
    for changelog in changelogs:
        try:
            await changelog.flush()
        except Exception as exc:
            log.warning("%s: last changelog flush failed: %r", changelog.windows.deployment, exc)


async def _heartbeat(health: Health) -> None:
    """`/healthz` proves that the event loop turns, in every phase: a replica waiting for a partition's lease (an old
    owner that has not seen the new config yet) or for its model file is alive, only not ready."""
    while True:
        health.beat()
        await asyncio.sleep(1.0)


async def serve(config_path: Path) -> int:
    """Run until SIGTERM; returns the process exit code."""
    config = load_runtime_config(config_path)
    metrics, health = Metrics(), Health()
    server = serve_http(metrics, health, config.metrics_host, config.metrics_port)
    log.info("metrics on %s:%d", config.metrics_host, server.server_port)
    setup_tracing({"edgeops.zone": config.zone, "edgeops.region": config.region})
    puller = ModelPuller(Path(config.model_dir), metrics=PullMetrics(metrics.registry))
    heartbeat = asyncio.create_task(_heartbeat(health))
    try:
        next_config: RuntimeConfig | None = config
        while next_config is not None:
            next_config = await Service(next_config, config_path, metrics, health, puller).run()
    finally:
        heartbeat.cancel()
        server.shutdown()
        shutdown_tracing()
    return 0
