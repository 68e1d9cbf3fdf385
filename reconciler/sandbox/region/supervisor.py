"""The supervisor: one process that brings a sandbox region up, keeps it up and brings it down on SIGTERM.

`edgeops sandbox up` spawns it detached (`python -m reconciler.sandbox.region run ...`) and follows its progress
file; `down` sends it SIGTERM and then stops whatever is still recorded (after a SIGKILL nothing unwinds here, but
every server process it started is recorded on disk: `reconciler.sandbox.process.record_processes`).

Parts, in start order: the local registry; the fleet repository (template → built models pushed → bare remote);
one local control plane per zone (SQLite), each with the namespace and the NATS users' Secret a zone's operator
creates; the region hub and each zone's nats-server from the configs edgeops renders (leafnodes to the hub),
each zone's server then following the NATS config the reconciler applies to its zone (`natsconfig`: canary weights);
Jaeger (when built); a node agent per zone (its service table maps the in-cluster NATS service and the region's
registry host to the local ones); the region reconciler (`edgeops reconcile` with `--nats` and nudges);
Prometheus scraping every runtime pod (file_sd targets from the pods' host-port annotations, refreshed); sensor
generators publishing records to every model's input subject in every zone.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack, suppress
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from reconciler.app.desired import load_desired
from reconciler.app.reconcile import context_for
from reconciler.core.nats import hub_server_config, naming, server_config
from reconciler.core.render.runtimecfg import nats_url
from reconciler.core.spec import FleetSpec, Zone
from reconciler.sandbox.agent import host_ports
from reconciler.sandbox.dataplane import DataplaneError, loopback_server_settings, nats_server_process
from reconciler.sandbox.localkube import LocalKube, LocalZone, ZoneOptions
from reconciler.sandbox.process import (
    ServerProcess,
    ServerProcessError,
    free_port,
    http_ok,
    port_accepts,
    record_processes,
)
from reconciler.sandbox.region.fleetrepo import seed_fleet_repo
from reconciler.sandbox.region.layout import Layout, read_json, write_json
from reconciler.sandbox.region.natsconfig import NatsFollower, ZoneServer
from reconciler.sandbox.region.sensors import run_sensors

NAMESPACE = "edgeops"
_REGISTRY_BINARY = os.environ.get("EDGEOPS_REGISTRY_BIN", "/usr/bin/docker-registry")
# How long a stopped server may drain before its process group is killed.
_STOP_TIMEOUT_S = 20.0
_KILL_TIMEOUT_S = 10.0
TARGETS_REFRESH_S = 5.0


class RegionError(Exception):
    """A part of the region could not be brought up; the message names it and says why."""


@dataclass(frozen=True)
class RegionRequest:
    template: Path  # the repository holding the template fleet
    layout: Layout
    region: str
    zones: tuple[str, ...] = ()  # a subset of the region's zones; empty: all
    records_per_s: float = 5.0  # per model and zone


def _edgeops() -> list[str]:
    found = shutil.which("edgeops")
    return [found] if found else [sys.executable, "-m", "reconciler.cli.main"]


class Progress:
    """Steps appended to the progress file, one JSON object a line (`up` follows it). With `parts`, every step
    also rewrites the manifest, so that what a supervisor killed half-way had started is known (`down` checks its
    ports)."""

    def __init__(self, layout: Layout, parts: dict[str, Any] | None = None) -> None:
        self._layout = layout
        self._parts = parts
        layout.root.mkdir(parents=True, exist_ok=True)

    def __call__(self, message: str, *, kind: str = "step", **fields: object) -> None:
        if self._parts is not None:
            self._parts["ready"] = kind == "ready"
            write_json(self._layout.manifest, self._parts)
        line = json.dumps({"t": time.time(), "kind": kind, "message": message, **fields})
        with self._layout.progress.open("a", encoding="utf-8") as out:
            out.write(line + "\n")


def _serve(stack: ExitStack, process: ServerProcess, ready: Callable[[], bool], what: str, timeout_s: float) -> None:
    try:
        process.start()
        stack.callback(process.stop, timeout_s=_STOP_TIMEOUT_S, kill_timeout_s=_KILL_TIMEOUT_S)
        process.wait_ready(ready, timeout_s, every_s=0.2, what=what)
    except ServerProcessError as exc:
        raise RegionError(str(exc)) from exc


# The forge's repository and its people: the bot and the canary controller act as BOT_LOGIN (write), the demo's
# and a user's pull requests come from ADMIN_LOGIN (admin).
OWNER, NAME = "acme", "edge-fleet"
BOT_LOGIN, ADMIN_LOGIN = "edgeops-bot", "platform-engineer"


@dataclass
class _Secrets:
    nats: dict[str, str]  # NATS user → password (zone servers, the runtimes' Secret)
    hub: dict[str, str]  # hub user → password (nudges)
    tokens: dict[str, str]  # forge login → token
    webhook: str  # the secret the forge signs its webhook deliveries with

    @property
    def env(self) -> dict[str, str]:
        """The variables the rendered server configs read their passwords from."""
        env = {naming.PASSWORD_ENV[u]: p for u, p in self.nats.items()}
        return env | {naming.HUB_PASSWORD_ENV[u]: p for u, p in self.hub.items()}


def _generate_secrets(layout: Layout) -> _Secrets:
    generated = _Secrets(
        {user: secrets.token_hex(16) for user in naming.PASSWORD_ENV},
        {user: secrets.token_hex(16) for user in naming.HUB_PASSWORD_ENV},
        {login: secrets.token_hex(20) for login in (BOT_LOGIN, ADMIN_LOGIN)},
        secrets.token_hex(20),
    )
    write_json(
        layout.secrets,
        {"nats": generated.nats, "hub": generated.hub, "forge": generated.tokens, "webhook": generated.webhook},
        private=True,
    )
    return generated


def _zones(spec: FleetSpec, request: RegionRequest) -> list[Zone]:
    zones = [z for z in spec.zones_in(request.region) if not request.zones or z.name in request.zones]
    unknown = set(request.zones) - {z.name for z in zones}
    if spec.region(request.region) is None or not zones or unknown:
        wanted = f"zones {sorted(unknown)}" if unknown else "zones"
        raise RegionError(f"region {request.region!r} has no {wanted} in the fleet")
    return zones


def run_region(request: RegionRequest, stop: threading.Event) -> None:
    """Bring the region up, write its manifest, then keep it up until `stop` is set; everything is stopped on the
    way out (also on an error)."""
    layout = request.layout
    parts: dict[str, Any] = {"region": request.region, "zones": {}, "notes": [], "supervisor": {"pid": os.getpid()}}
    say = Progress(layout, parts)
    record_processes(layout.processes)
    loaded = load_desired(request.template)
    if loaded.spec is None:
        raise RegionError(f"{request.template}: the desired state is not valid (run `edgeops validate`)")
    names = {z.name for z in _zones(loaded.spec, request)}
    keys = _generate_secrets(layout)
    with ExitStack() as stack:
        registry_port, registry_pid = _start_registry(stack, layout, say)
        parts["registry"] = {"url": f"http://127.0.0.1:{registry_port}", "pid": registry_pid}
        say("seeding the fleet repository from the template")
        fleet = seed_fleet_repo(
            request.template, layout.root / "fleet", request.region, f"127.0.0.1:{registry_port}", say
        )
        for note in fleet.notes:
            say(note, kind="note")
        parts["fleet"] = {"remote": str(fleet.remote), "work": str(fleet.work), "pushed": list(fleet.pushed)}
        parts["notes"] = list(fleet.notes)
        spec = load_desired(fleet.work).spec or loaded.spec
        zones = [z for z in spec.zones_in(request.region) if z.name in names]
        say(f"starting a local control plane per zone: {', '.join(sorted(names))}")
        kube = LocalKube(layout.root / "kube")
        stack.callback(kube.close)
        kube.start_zones([context_for(z) for z in zones], ZoneOptions(storage="sqlite"))
        parts["kubeconfig"] = str(kube.kubeconfig)
        follower = NatsFollower(kube, fleet.remote, request.region, "", NAMESPACE)
        hub_url, zone_urls = _start_nats(
            stack, layout, spec, zones, env=keys.env, follower=follower, parts=parts, say=say
        )
        otlp = _start_jaeger(stack, layout, parts, say)
        registry_host = (spec.region(request.region) or _no_region(request.region)).registry.split("/", 1)[0]
        for zone in zones:
            services = {
                nats_url(NAMESPACE).removeprefix("nats://"): zone_urls[zone.name].removeprefix("nats://"),
                registry_host: f"127.0.0.1:{registry_port}",
            }
            _start_agent(stack, layout, kube, zone, fleet.work, services=services, otlp=otlp, parts=parts, say=say)
        reconciler_port = _start_reconciler(stack, layout, kube, fleet.remote, hub_url, keys, request, parts, say)
        for zone in zones:  # the reconciler creates the namespace (it owns it), then the runtimes need the Secret
            _zone_secret(kube.zone(context_for(zone)), keys.nats)
        targets = layout.root / "prometheus" / "targets"
        prometheus_port, prometheus_pid = _start_prometheus(stack, layout, targets, reconciler_port, say)
        parts["prometheus"] = {"url": f"http://127.0.0.1:{prometheus_port}", "pid": prometheus_pid}
        gitops = _GitOps(stack, layout, kube.kubeconfig, fleet.remote, hub_url, keys, parts, say)
        gitops.start_forge_and_bot()
        gitops.start_canary_controller(request.region, f"http://127.0.0.1:{prometheus_port}")
        gitops.start_fleet_page(f"http://127.0.0.1:{prometheus_port}")
        _start_threads(
            stack, kube, spec, zones, targets=targets, urls=zone_urls, password=keys.nats[naming.SENSOR_USER],
            rate=request.records_per_s, otlp=otlp, follower=follower,
        )  # fmt: skip
        parts["sensors"] = {"records_per_s": request.records_per_s}
        say("region up", kind="ready")
        stop.wait()
        say("stopping", kind="stopping")


@dataclass
class _GitOps:
    """The forge (with the bot subscribed to its webhooks) and the canary controller, on the fleet's bare remote."""

    stack: ExitStack
    layout: Layout
    kubeconfig: Path
    remote: Path
    hub_url: str
    keys: _Secrets
    parts: dict[str, Any]
    say: Progress

    def _forge_env(self) -> dict[str, str]:
        return {
            "EDGEOPS_GITHUB_TOKEN": self.keys.tokens[BOT_LOGIN],
            "EDGEOPS_NUDGE_NATS_USER": naming.HUB_NUDGER_USER,
            "EDGEOPS_NUDGE_NATS_PASSWORD": self.keys.hub[naming.HUB_NUDGER_USER],
            "EDGEOPS_WEBHOOK_SECRET": self.keys.webhook,
        }

    def _repository(self, forge_url: str, workdir: str) -> list[str]:
        return [
            "--repository", f"{OWNER}/{NAME}", "--github-url", forge_url, "--clone-url", str(self.remote),
            "--workdir", str(self.layout.root / workdir),
        ]  # fmt: skip

    def start_forge_and_bot(self) -> None:
        forge_port, bot_port = free_port(), free_port()
        forge_url, bot_url = f"http://127.0.0.1:{forge_port}", f"http://127.0.0.1:{bot_port}/"
        access = self.layout.root / "forge" / "access.json"
        write_json(
            access,
            {
                "users": {BOT_LOGIN: "write", ADMIN_LOGIN: "admin", OWNER: "admin"},
                "tokens": {token: login for login, token in self.keys.tokens.items()},
            },
            private=True,
        )
        bot = ServerProcess(
            "bot webhook service",
            [
                *_edgeops(), "bot", "serve", *self._repository(forge_url, "bot"), "--port", str(bot_port),
                "--kubeconfig", str(self.kubeconfig), "--nudge-nats", self.hub_url,
            ],
            self.layout.logs / "bot.log",
            env=self._forge_env(),
        )  # fmt: skip
        self.say("starting the bot's webhook service")
        _serve(self.stack, bot, _http_ready(bot_url), "serving webhooks", 60)
        forge = ServerProcess(
            "forge",
            [
                sys.executable, "-m", "reconciler.sandbox.forge", "serve", "--git-dir", str(self.remote),
                "--port", str(forge_port), "--owner", OWNER, "--name", NAME, "--users", str(access),
                "--webhook", bot_url,
            ],
            self.layout.logs / "forge.log",
            env={"EDGEOPS_WEBHOOK_SECRET": self.keys.webhook},
        )  # fmt: skip
        self.say("starting the local forge (webhooks to the bot)")
        _serve(self.stack, forge, lambda: port_accepts(forge_port), "serving its API", 60)
        self.parts["forge"] = {
            "url": forge_url,
            "api": f"{forge_url}/api/v3",
            "repository": f"{OWNER}/{NAME}",
            "pid": forge.pid,
            "webhook": bot_url,
        }
        self.parts["bot"] = {"url": bot_url, "pid": bot.pid}

    def start_canary_controller(self, region: str, prometheus: str) -> None:
        # A pass every 10 s: the sandbox's demo policy bakes each step for 30 s (fleetrepo.DEMO_POLICY).
        port = free_port()
        controller = ServerProcess(
            "canary controller",
            [
                *_edgeops(), "canary", "run", "--region", region, "--prometheus", prometheus,
                *self._repository(self.parts["forge"]["url"], "canary"), "--interval", "10s",
                "--metrics-port", str(port), "--nudge-nats", self.hub_url,
            ],
            self.layout.logs / "canary.log",
            env=self._forge_env(),
        )  # fmt: skip
        self.say("starting the canary controller")
        _serve(self.stack, controller, _http_ready(f"http://127.0.0.1:{port}/metrics"), "serving /metrics", 60)
        self.parts["canary"] = {"metrics": f"http://127.0.0.1:{port}/metrics", "pid": controller.pid}

    def start_fleet_page(self, prometheus: str) -> None:
        """The read-only fleet page over the fleet's branch, the zones' records, Prometheus and the forge's PRs."""
        port = free_port()
        page = ServerProcess(
            "fleet page",
            [
                *_edgeops(), "status", "--serve", str(port), "--repo", str(self.remote), "--rev", "main",
                "--kubeconfig", str(self.kubeconfig), "--namespace", NAMESPACE, "--prometheus", prometheus,
                "--repository", f"{OWNER}/{NAME}", "--github-url", self.parts["forge"]["url"],
            ],
            self.layout.logs / "fleet-page.log",
            env={"EDGEOPS_GITHUB_TOKEN": self.keys.tokens[BOT_LOGIN]},
        )  # fmt: skip
        self.say("starting the fleet page")
        url = f"http://127.0.0.1:{port}/"
        _serve(self.stack, page, _http_ready(url), "serving the fleet page", 60)
        self.parts["page"] = {"url": url, "pid": page.pid}


def _start_threads(
    stack: ExitStack,
    kube: LocalKube,
    spec: FleetSpec,
    zones: list[Zone],
    *,
    targets: Path,
    urls: dict[str, str],
    password: str,
    rate: float,
    otlp: str | None,
    follower: NatsFollower,
) -> None:
    """The Prometheus target refresher, the zones' NATS config follower and the sensors, stopped when `stack`
    closes."""
    stop = threading.Event()
    stack.callback(stop.set)

    def sensors() -> None:  # a call mypy checks, unlike a Thread's args
        run_sensors(spec, zones=zones, urls=urls, password=password, rate=rate, stop=stop, otlp=otlp)

    def refresh() -> None:
        _refresh_targets(kube, zones, targets, stop)

    threading.Thread(target=refresh, name="targets", daemon=True).start()
    threading.Thread(target=follower.run, args=(stop,), name="nats-config", daemon=True).start()
    threading.Thread(target=sensors, name="sensors", daemon=True).start()


def _start_agent(
    stack: ExitStack,
    layout: Layout,
    kube: LocalKube,
    zone: Zone,
    fleet: Path,
    *,
    services: dict[str, str],
    otlp: str | None,
    parts: dict[str, Any],
    say: Progress,
) -> None:
    context = context_for(zone)
    argv = [
        sys.executable, "-m", "reconciler.sandbox.agent", "run", "--kubeconfig", str(kube.kubeconfig),
        "--context", context, "--state", str(layout.agent(zone.name)), "--fleet", str(fleet), "--zone", zone.name,
    ]  # fmt: skip
    for host, target in services.items():
        argv += ["--service", f"{host}={target}"]
    # The pods inherit the agent's environment: the runtimes export their traces to Jaeger.
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": otlp} if otlp else {"OTEL_SDK_DISABLED": "true"}
    agent = ServerProcess(f"agent {zone.name}", argv, layout.logs / f"agent-{zone.name}.log", env=env)
    say(f"starting {zone.name}'s node agent")
    _serve(stack, agent, lambda: True, "running", 10)
    parts["zones"][zone.name] = {
        "context": context,
        "apiserver": kube.zone(context).server,
        "nats": parts["nats"][zone.name]["url"],
        "agent": {"pid": agent.pid, "state": str(layout.agent(zone.name))},
    }


def _start_reconciler(  # noqa: PLR0917 - the region's parts it connects
    stack: ExitStack,
    layout: Layout,
    kube: LocalKube,
    remote: Path,
    hub_url: str,
    keys: _Secrets,
    request: RegionRequest,
    parts: dict[str, Any],
    say: Progress,
) -> int:
    port = free_port()
    reconciler = ServerProcess(
        "region reconciler",
        [
            *_edgeops(), "reconcile", "--region", request.region, "--repo", str(remote),
            "--kubeconfig", str(kube.kubeconfig), "--nats", hub_url, "--interval", "30s",
            "--no-leader-elect", "--metrics-port", str(port),
            "--cache-dir", str(layout.root / "cache"), "--health-timeout", "20",
        ],
        layout.logs / "reconciler.log",
        env={**keys.env, "EDGEOPS_NUDGE_NATS_USER": naming.HUB_RECONCILER_USER,
             "EDGEOPS_NUDGE_NATS_PASSWORD": keys.hub[naming.HUB_RECONCILER_USER]},
    )  # fmt: skip
    say("starting the region reconciler")
    _serve(stack, reconciler, _http_ready(f"http://127.0.0.1:{port}/metrics"), "serving /metrics", 60)
    parts["reconciler"] = {"metrics": f"http://127.0.0.1:{port}/metrics", "pid": reconciler.pid}
    return port


def _http_ready(url: str) -> Callable[[], bool]:
    return lambda: http_ok(url)


def _no_region(region: str) -> Any:
    raise RegionError(f"region {region!r} is not in fleet.yaml")


def _start_registry(stack: ExitStack, layout: Layout, say: Progress) -> tuple[int, int | None]:
    if not Path(_REGISTRY_BINARY).exists():
        raise RegionError(f"{_REGISTRY_BINARY} is missing: install Debian docker-registry (make bootstrap)")
    port = free_port()
    workdir = layout.root / "registry"
    (workdir / "storage").mkdir(parents=True, exist_ok=True)
    config = workdir / "config.yml"
    config.write_text(
        "version: 0.1\nlog:\n  level: warn\n"
        f"storage:\n  filesystem:\n    rootdirectory: {workdir / 'storage'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n",
        encoding="utf-8",
    )
    say("starting the OCI registry")
    process = ServerProcess("registry", [_REGISTRY_BINARY, "serve", str(config)], layout.logs / "registry.log")
    _serve(stack, process, lambda: http_ok(f"http://127.0.0.1:{port}/v2/"), f"serving on port {port}", 60)
    return port, process.pid


def _zone_secret(zone: LocalZone, passwords: dict[str, str], timeout_s: float = 120.0) -> None:
    """The NATS users' Secret (`edgeops-nats-users`) a zone's operator creates for the rendered Deployments
    (docs/nats.md), once the reconciler has created the namespace."""
    api = zone.admin_api()
    deadline = time.monotonic() + timeout_s
    while api.request("GET", f"/api/v1/namespaces/{NAMESPACE}").status != 200:
        if time.monotonic() > deadline:
            raise RegionError(f"{zone.name}: the reconciler did not create namespace {NAMESPACE} in {timeout_s:.0f} s")
        time.sleep(0.5)
    api.create(
        f"/api/v1/namespaces/{NAMESPACE}/secrets",
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "edgeops-nats-users"},
            "stringData": {f"{user}-password": password for user, password in passwords.items()},
        },
    )


def _start_nats(
    stack: ExitStack,
    layout: Layout,
    spec: FleetSpec,
    zones: list[Zone],
    *,
    env: dict[str, str],
    follower: NatsFollower,
    parts: dict[str, Any],
    say: Progress,
) -> tuple[str, dict[str, str]]:
    """The region hub and each zone's nats-server (leafnode to the hub); the hub's URL and the zones' URLs. Each
    zone's server is added to `follower`, which keeps it on the config the reconciler applies."""
    region = zones[0].spec.region
    base = layout.root / "nats"
    hub_settings = loopback_server_settings(base / "hub", leafnode_port=free_port())
    follower.hub_leaf_url = f"nats-leaf://127.0.0.1:{hub_settings.leafnode_port}"
    local = spec.with_region_hub(region, follower.hub_leaf_url)
    say("starting the region's NATS hub")
    servers = [("hub", hub_server_config(region, hub_settings), hub_settings, base / "hub")]
    zone_urls: dict[str, str] = {}
    parts["nats"] = {}
    by_name = {zone.name: zone for zone in zones}
    for zone in zones:
        settings = loopback_server_settings(base / zone.name)
        servers.append((zone.name, server_config(local, zone, settings), settings, base / zone.name))
        zone_urls[zone.name] = f"nats://127.0.0.1:{settings.port}"
    for name, config, settings, workdir in servers:
        try:
            process, ready = nats_server_process(f"nats-server {name}", workdir, config, settings, env)
        except DataplaneError as exc:
            raise RegionError(str(exc)) from exc
        if name != "hub":
            say(f"starting {name}'s nats-server (leafnode to the hub)")
        _serve(stack, process, _http_ready(ready), "serving JetStream", 60)
        if name in by_name and process.pid is not None:
            follower.servers.append(ZoneServer(by_name[name], settings, workdir / "nats-server.conf", process.pid))
        parts["nats"][name] = {
            "url": f"nats://127.0.0.1:{settings.port}",
            "monitor": f"http://127.0.0.1:{settings.monitor_port}",
            "pid": process.pid,
        }
    return parts["nats"]["hub"]["url"], zone_urls


def _start_jaeger(stack: ExitStack, layout: Layout, parts: dict[str, Any], say: Progress) -> str | None:
    """Jaeger all-in-one (in-memory) when `tests/env/install-jaeger.sh` built it; the OTLP/HTTP endpoint or None."""
    binary = shutil.which("jaeger")
    if binary is None:
        note = "Jaeger is not built (bash tests/env/install-jaeger.sh): the runtimes' traces go nowhere"
        parts["notes"].append(note)
        say(note, kind="note")
        return None
    ui, otlp, health, query_grpc = free_port(), free_port(), free_port(), free_port()
    config = {
        "service": {
            "extensions": ["jaeger_storage", "jaeger_query", "healthcheckv2"],
            "pipelines": {
                "traces": {"receivers": ["otlp"], "processors": ["batch"], "exporters": ["jaeger_storage_exporter"]}
            },
            "telemetry": {"metrics": {"level": "none"}, "logs": {"level": "warn"}},
        },
        "extensions": {
            "jaeger_query": {
                "storage": {"traces": "memory"},
                "http": {"endpoint": f"127.0.0.1:{ui}"},
                "grpc": {"endpoint": f"127.0.0.1:{query_grpc}"},
            },
            "jaeger_storage": {"backends": {"memory": {"memory": {"max_traces": 20000}}}},
            "healthcheckv2": {"use_v2": True, "http": {"endpoint": f"127.0.0.1:{health}"}},
        },
        "receivers": {"otlp": {"protocols": {"http": {"endpoint": f"127.0.0.1:{otlp}"}}}},
        "processors": {"batch": {}},
        "exporters": {"jaeger_storage_exporter": {"trace_storage": "memory"}},
    }
    path = layout.root / "jaeger" / "config.yaml"
    write_json(path, config)  # JSON is YAML
    say("starting Jaeger")
    process = ServerProcess("jaeger", [binary, "--config", str(path)], layout.logs / "jaeger.log")
    _serve(stack, process, lambda: http_ok(f"http://127.0.0.1:{ui}/"), f"serving its UI on port {ui}", 60)
    parts["jaeger"] = {"url": f"http://127.0.0.1:{ui}", "otlp": f"http://127.0.0.1:{otlp}", "pid": process.pid}
    return f"http://127.0.0.1:{otlp}"


def _start_prometheus(
    stack: ExitStack, layout: Layout, targets: Path, reconciler_port: int, say: Progress
) -> tuple[int, int | None]:
    binary = shutil.which("prometheus")
    if binary is None:
        raise RegionError("prometheus is not on PATH: run `make bootstrap` and `source tests/env/common.sh`")
    workdir = layout.root / "prometheus"
    targets.mkdir(parents=True, exist_ok=True)
    config = {
        "global": {"scrape_interval": "5s", "evaluation_interval": "5s"},
        "scrape_configs": [
            {
                "job_name": "runtime",
                "file_sd_configs": [{"files": [str(targets / "*.json")], "refresh_interval": "5s"}],
            },
            {"job_name": "reconciler", "static_configs": [{"targets": [f"127.0.0.1:{reconciler_port}"]}]},
        ],
    }
    write_json(workdir / "prometheus.yml", config)
    port = free_port()
    say("starting Prometheus")
    process = ServerProcess(
        "prometheus",
        [
            binary, f"--config.file={workdir / 'prometheus.yml'}", f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn",
        ],
        layout.logs / "prometheus.log",
    )  # fmt: skip
    _serve(stack, process, lambda: http_ok(f"http://127.0.0.1:{port}/-/ready"), "ready", 60)
    return port, process.pid


def scrape_targets(pods: list[dict[str, Any]], zone: str) -> list[dict[str, Any]]:
    """file_sd entries for the pods' `metrics` ports, through the agent's host-port annotation."""
    entries = []
    for pod in pods:
        meta = pod.get("metadata", {})
        try:
            ports = host_ports(pod)
        except (ValueError, TypeError, AttributeError):  # an annotation someone else wrote
            continue
        for container in pod.get("spec", {}).get("containers", []):
            for port in container.get("ports", []):
                host = ports.get(int(port.get("containerPort", 0)))
                if port.get("name") == "metrics" and host:
                    labels = {"zone": zone, "namespace": meta.get("namespace", ""), "pod": meta.get("name", "")}
                    entries.append({"targets": [f"127.0.0.1:{host}"], "labels": labels})
    return entries


def _refresh_targets(kube: LocalKube, zones: list[Zone], targets: Path, stop: threading.Event) -> None:
    while not stop.is_set():
        for zone in zones:
            with suppress(OSError, ValueError):
                reply = kube.zone(context_for(zone)).admin_api().request("GET", f"/api/v1/namespaces/{NAMESPACE}/pods")
                if reply.status == 200:
                    entries = scrape_targets(reply.json().get("items", []), zone.name)
                    write_json(targets / f"{zone.name}.json", entries)
        stop.wait(TARGETS_REFRESH_S)


def main(request: RegionRequest) -> int:
    """Run the region until SIGTERM/SIGINT; 0 after a clean stop, 1 when a part could not be brought up."""
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()
        if not request.layout.manifest.exists() or not (read_json(request.layout.manifest) or {}).get("ready"):
            # Still starting: abandon the start here; the ExitStack stops what was started, in reverse order.
            raise RegionError(f"stopped by signal {signum} while starting")

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        run_region(request, stop)
    except Exception as exc:  # every failure is reported through the progress file: `up` shows it
        Progress(request.layout)(f"{type(exc).__name__}: {exc}", kind="failed")
        return 1
    finally:
        record_processes(None)
    return 0
