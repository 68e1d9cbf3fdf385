"""The data plane of one zone, run on this machine: the region hub and the zone's nats-server from the configs
edgeops renders, the zone's JetStream assets applied by the reconciler's NATS code, and `edgeops serve` for each
stable model with the runtime.json edgeops renders — the same command every zone's Deployment runs. Sensor records
go in, scored results come out, and the report says how many and how fast.

Passwords for the NATS users are random per run and live only in the processes' environments.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import secrets
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, suppress
from dataclasses import dataclass
from pathlib import Path

from reconciler.app.modelops import build_bytes, load_model_source, version_recipe
from reconciler.app.nats import apply_hub, apply_nats
from reconciler.core.nats import ServerSettings, active_tracks, hub_server_config, naming, render_conf, server_config
from reconciler.core.render import runtime_config
from reconciler.core.spec import FleetSpec, Model, ModelAssignment, Zone
from reconciler.sandbox.process import ServerProcess, ServerProcessError, free_port, http_ok
from reconciler.shells.nats import NatsClient, NatsEndpoint, NatsMessage
from runtime import FeatureStoreConfig, RuntimeConfig, Track

# How long a stopped server may drain before its process group is killed.
_STOP_TIMEOUT_S = 20.0
_KILL_TIMEOUT_S = 10.0


class DataplaneError(Exception):
    """The local data plane could not be brought up; the message says which part and why."""


@dataclass(frozen=True)
class ModelRun:
    model: str
    track: str
    version: str
    sent: int  # records sent to the model's input (every track shares them by the canary weight)
    results: int  # results this track published
    p50_ms: float
    p95_ms: float


@dataclass(frozen=True)
class DataplaneReport:
    zone: str
    nats_status: str
    runs: tuple[ModelRun, ...]
    skipped: tuple[str, ...]


def loopback_server_settings(workdir: Path, leafnode_port: int | None = None) -> ServerSettings:
    """Settings for a nats-server on loopback free ports, its JetStream store under `workdir`."""
    return ServerSettings(
        host="127.0.0.1",
        port=free_port(),
        monitor_port=free_port(),
        leafnode_port=leafnode_port,
        store_dir=str(workdir / "jetstream"),
        max_file_store="16G",  # a cap the streams' limits must fit under, not an allocation
        max_memory_store="64M",
    )


def nats_server_process(
    name: str, workdir: Path, config: dict[str, object], settings: ServerSettings, env: dict[str, str]
) -> tuple[ServerProcess, str]:
    """The server's process (not started) and the URL that answers 200 once it serves JetStream."""
    binary = shutil.which("nats-server")
    if binary is None:
        raise DataplaneError(
            "nats-server is not on PATH: run `bash tests/env/bootstrap.sh` and `source tests/env/common.sh`"
        )
    workdir.mkdir(parents=True, exist_ok=True)
    conf = workdir / "nats-server.conf"
    conf.write_text(render_conf(config), encoding="utf-8")
    ready = f"http://127.0.0.1:{settings.monitor_port}/healthz?js-enabled-only=true"
    return ServerProcess(name, [binary, "-c", str(conf)], workdir / "nats-server.log", env=env), ready


def _serve(stack: ExitStack, process: ServerProcess, ready_url: str, timeout_s: float = 60.0) -> None:
    """Start `process`, stopped when `stack` closes, and wait until `ready_url` answers 200."""
    try:
        process.start()
        stack.callback(process.stop, timeout_s=_STOP_TIMEOUT_S, kill_timeout_s=_KILL_TIMEOUT_S)
        process.wait_ready(lambda: http_ok(ready_url), timeout_s)
    except ServerProcessError as exc:
        raise DataplaneError(str(exc)) from exc


def _runnable(model: Model, version: str, models_root: Path) -> tuple[bytes, str] | str:
    """The model's bytes when its source builds to the digest the zone pins; otherwise why not."""
    release = model.spec.version(version)
    if release is None or not (models_root / model.name / "build.py").exists():
        return f"{model.name} {version}: no source to build in models/{model.name}/"
    source = load_model_source(models_root / model.name)
    data = build_bytes(source, version_recipe(source, version)[1])
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    if digest != release.artifact.digest:
        return f"{model.name} {version}: models/{model.name}/build.py builds {digest[:19]}…, the zone pins {release.artifact.digest[:19]}…"
    return data, digest


def _records(model: Model, key: str, count: int, seed: int = 7) -> Iterator[dict[str, object]]:
    """Plausible sensor records for the window: its `key` plus every field its features read."""
    rng = random.Random(seed)  # noqa: S311 - sample data, not security
    fields = sorted({f.field for f in model.spec.window.features if f.field and f.field != "ts"})
    start = time.time()
    for i in range(count):
        record: dict[str, object] = {key: f"key-{i % 25}", "ts": start + i * 0.01}
        for name in fields:
            record[name] = round(rng.uniform(0.0, 100.0), 3) if "mismatch" not in name else float(rng.random() < 0.05)
        yield record


async def _drive(
    url: str, passwords: dict[str, str], assignment: ModelAssignment, model: Model, *, count: int, expected: int
) -> dict[str, list[float]]:
    """Publish `count` records as the sensor user; collect results (as the reconciler user) by track until
    `expected` arrived or a minute passed. Returns the latencies per track."""
    sensor = await NatsClient.connect(
        NatsEndpoint(url, user=naming.SENSOR_USER, password=passwords[naming.SENSOR_USER])
    )
    watcher = await NatsClient.connect(
        NatsEndpoint(url, user=naming.RECONCILER_USER, password=passwords[naming.RECONCILER_USER])
    )
    sent_at: dict[str, float] = {}
    latencies: dict[str, list[float]] = {}
    done = asyncio.Event()

    async def on_result(msg: NatsMessage) -> None:
        deployment, _, input_id = msg.headers.get("Nats-Msg-Id", "").rpartition(":")
        if input_id in sent_at:
            track = deployment.rsplit(".", 1)[-1]
            latencies.setdefault(track, []).append((time.monotonic() - sent_at.pop(input_id)) * 1000)
        if sum(len(v) for v in latencies.values()) >= expected:
            done.set()

    try:
        await watcher.subscribe(assignment.output, on_result)
        await watcher.flush()
        key = assignment.window_key or model.spec.window.key
        for i, record in enumerate(_records(model, key, count)):
            msg_id = f"sandbox-{i}"
            sent_at[msg_id] = time.monotonic()
            headers = {"Nats-Msg-Id": msg_id, "Edgeops-Sensor-Ts": f"{time.time():.6f}"}
            subject = naming.sensor_subject(assignment.input, str(record[key]), partitioned=assignment.partitioned)
            await sensor.publish(subject, json.dumps(record).encode(), headers=headers)
            if i % 50 == 49:
                await asyncio.sleep(0.05)  # about 1,000 records/s, like a busy site
        await sensor.flush()
        with suppress(TimeoutError):  # a shortfall is reported, not raised
            await asyncio.wait_for(done.wait(), timeout=30 if expected < count else 60)
        return latencies
    finally:
        await sensor.drain()
        await watcher.drain()


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_dataplane(
    spec: FleetSpec, region: str, zone: Zone, *, state: Path, models_root: Path, records: int = 1000
) -> DataplaneReport:
    passwords = {user: secrets.token_hex(16) for user in naming.PASSWORD_ENV}
    env = {**os.environ, **{naming.PASSWORD_ENV[user]: pw for user, pw in passwords.items()}}
    env.update({variable: secrets.token_hex(16) for variable in naming.HUB_PASSWORD_ENV.values()})
    hub_settings = loopback_server_settings(state / "hub", leafnode_port=free_port())
    local = spec.with_region_hub(region, f"nats-leaf://127.0.0.1:{hub_settings.leafnode_port}")
    zone_settings = loopback_server_settings(state / zone.name)
    zone_url = f"nats://127.0.0.1:{zone_settings.port}"
    runs: list[ModelRun] = []
    skipped: list[str] = []
    with ExitStack() as stack:
        hub, hub_ready = nats_server_process(
            "region hub", state / "hub", hub_server_config(region, hub_settings), hub_settings, env
        )
        _serve(stack, hub, hub_ready)
        leaf, leaf_ready = nats_server_process(
            f"{zone.name} nats-server",
            state / zone.name,
            server_config(local, zone, zone_settings),
            zone_settings,
            env,
        )
        _serve(stack, leaf, leaf_ready)
        endpoint = NatsEndpoint(zone_url, user=naming.RECONCILER_USER, password=passwords[naming.RECONCILER_USER])
        result = asyncio.run(apply_nats(local, zone, endpoint, revision=None))
        hub_endpoint = NatsEndpoint(f"nats://127.0.0.1:{hub_settings.port}")
        asyncio.run(apply_hub(local, region, hub_endpoint, revision=None))
        if result.degraded:
            raise DataplaneError(f"{zone.name}: JetStream assets not applied: {result.error}")
        for assignment in zone.spec.models:
            runs += _run_model(
                local,
                zone,
                assignment,
                state=state,
                models_root=models_root,
                zone_url=zone_url,
                env=env,
                passwords=passwords,
                records=records,
                skipped=skipped,
            )
    return DataplaneReport(zone.name, result.status.value, tuple(runs), tuple(skipped))


def _run_model(
    spec: FleetSpec,
    zone: Zone,
    assignment: ModelAssignment,
    *,
    state: Path,
    models_root: Path,
    zone_url: str,
    env: dict[str, str],
    passwords: dict[str, str],
    records: int,
    skipped: list[str],
) -> list[ModelRun]:
    """Start `edgeops serve` for every active track of the assignment that can be built, then drive it."""
    model = spec.models[assignment.model]
    started: dict[str, str] = {}  # track -> version
    with ExitStack() as stack:
        for track in active_tracks(assignment):
            version = (
                assignment.version if track is Track.STABLE else assignment.canary.version if assignment.canary else ""
            )
            built = _runnable(model, version, models_root)
            if isinstance(built, str):
                skipped.append(f"{track.value} track: {built}")
                continue
            data, digest = built
            # A partitioned track runs one process per replica, each told its ordinal as a StatefulSet pod is.
            rendered = runtime_config(spec, zone, assignment, model, track=track.value, namespace="edgeops")
            partitions = rendered.models[0].partitions
            ordinals = [None] if partitions is None else list(range(partitions.replicas))
            for ordinal in ordinals:
                name = f"{assignment.model}.{track.value}" + ("" if ordinal is None else f"-{ordinal}")
                workdir = state / zone.name / "runtime" / name
                (workdir / "models").mkdir(parents=True, exist_ok=True)
                (workdir / "models" / f"{digest.removeprefix('sha256:')}.onnx").write_bytes(data)
                config = _local_runtime_config(
                    spec, zone, assignment, model, track=track.value, zone_url=zone_url, workdir=workdir
                )
                config_path = workdir / "runtime.json"
                config_path.write_text(config.model_dump_json(indent=2), encoding="utf-8")
                argv = [*_edgeops(), "serve", "--config", str(config_path)]
                ready = f"http://127.0.0.1:{config.metrics_port}/readyz"
                process_env = env if partitions is None else {**env, partitions.ordinal_env: str(ordinal)}
                process = ServerProcess(f"{zone.name}/{name} runtime", argv, workdir / "runtime.log", env=process_env)
                _serve(stack, process, ready, timeout_s=120)
            started[track.value] = version
        if not started:
            return []
        # Records routed to a track that is not running (e.g. an unbuilt canary) get no result: expect fewer.
        expected = records if len(started) == len(active_tracks(assignment)) else 0
        latencies = asyncio.run(
            _drive(zone_url, passwords, assignment, model, count=records, expected=expected or records)
        )
    return [
        ModelRun(
            assignment.model, track, version, records, len(latencies.get(track, [])),
            _percentile(latencies.get(track, []), 0.5), _percentile(latencies.get(track, []), 0.95),
        )
        for track, version in started.items()
    ]  # fmt: skip


def _local_runtime_config(
    spec: FleetSpec, zone: Zone, assignment: ModelAssignment, model: Model, *, track: str, zone_url: str, workdir: Path
) -> RuntimeConfig:
    rendered = runtime_config(spec, zone, assignment, model, track=track, namespace="edgeops")
    return rendered.model_copy(
        update={
            "nats": rendered.nats.model_copy(update={"url": zone_url}),
            "metrics_port": free_port(),
            "metrics_host": "127.0.0.1",
            "model_dir": str(workdir / "models"),
            "feature_store": FeatureStoreConfig(path=str(workdir / "features.duckdb")),
        }
    )


def _edgeops() -> list[str]:
    found = shutil.which("edgeops")
    return [found] if found else [sys.executable, "-m", "reconciler.cli.main"]
