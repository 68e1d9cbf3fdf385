"""`up`, `status` and `down` of a sandbox region, around the supervisor process (`supervisor.py`).

- `start_supervisor` spawns it detached (a session of its own, so it outlives `up`) and records it;
  `follow_progress` yields its steps until it is ready or has failed.
- `probe_region` asks every real part how it is (processes alive by pid and start time, HTTP health endpoints,
  the apiservers' Deployments): the manifest only says where to look.
- `stop_region` sends the supervisor SIGTERM (it stops its parts in order), then stops whatever is still recorded
  — the supervisor's servers and the agents' pods, which is everything after a SIGKILLed supervisor — and
  removes the state directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from reconciler.app.reconcile import workload_problem
from reconciler.sandbox.agent import kill_recorded
from reconciler.sandbox.process import (
    http_ok,
    kill_recorded_processes,
    port_accepts,
    read_process_records,
    record_alive,
    write_process_record,
)
from reconciler.sandbox.region.layout import Layout, read_json
from reconciler.sandbox.region.supervisor import NAMESPACE
from reconciler.shells.kube import ZoneClient

_SUPERVISOR = "supervisor"


def supervisor_record(layout: Layout) -> dict[str, Any] | None:
    """The supervisor's record when that process still runs."""
    record = read_json(layout.supervisor)
    return record if isinstance(record, dict) and record_alive(record) else None


def start_supervisor(template: Path, layout: Layout, region: str, zones: tuple[str, ...]) -> int:
    """Spawn the supervisor for a fresh state directory; its pid."""
    layout.root.mkdir(parents=True, exist_ok=True)
    layout.progress.unlink(missing_ok=True)
    layout.manifest.unlink(missing_ok=True)
    argv = [
        sys.executable, "-m", "reconciler.sandbox.region", "run", "--template", str(template.resolve()),
        "--state", str(layout.root.resolve()), "--region", region,
    ]  # fmt: skip
    for zone in zones:
        argv += ["--zone", zone]
    layout.logs.mkdir(parents=True, exist_ok=True)
    with (layout.logs / "supervisor.log").open("ab") as log:
        process = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
    path = write_process_record(layout.root, _SUPERVISOR, process.pid, argv=argv)
    path.replace(layout.supervisor)
    return process.pid


def follow_progress(layout: Layout, pid: int, timeout_s: float) -> Iterator[dict[str, Any]]:
    """The supervisor's progress lines as they come, until one is `ready` or `failed`; a supervisor that exits
    without saying so, or a timeout, yields a `failed` line of its own."""
    offset = 0
    deadline = time.monotonic() + timeout_s
    while True:
        with contextlib.suppress(FileNotFoundError), layout.progress.open(encoding="utf-8") as progress:
            progress.seek(offset)
            while (line := progress.readline()).endswith("\n"):
                offset += len(line.encode())
                with contextlib.suppress(ValueError):
                    event = json.loads(line)
                    yield event
                    if event.get("kind") in ("ready", "failed"):
                        return
        if supervisor_record(layout) is None or not _running(pid):
            yield {"kind": "failed", "message": f"the supervisor (pid {pid}) exited; see {layout.logs}/supervisor.log"}
            return
        if time.monotonic() > deadline:
            yield {"kind": "failed", "message": f"not up after {timeout_s:.0f} s"}
            return
        time.sleep(0.2)


def _running(pid: int) -> bool:
    # The supervisor is our child when `up` spawned it in this process: reap it so that an exit is seen.
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    return Path(f"/proc/{pid}").exists()


@dataclass
class PartHealth:
    name: str
    healthy: bool
    where: str  # URL, path or port
    detail: str = ""
    pid: int | None = None


@dataclass
class RegionHealth:
    supervisor_pid: int | None
    parts: list[PartHealth] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return self.supervisor_pid is not None and all(p.healthy for p in self.parts)


def probe_region(layout: Layout) -> RegionHealth | None:
    """Every part as it is now; None when no region runs from this state directory."""
    record = supervisor_record(layout)
    manifest = read_json(layout.manifest)
    if record is None and not read_process_records(layout.processes):
        return None
    health = RegionHealth(int(record["pid"]) if record else None)
    if not isinstance(manifest, dict):
        health.parts.append(PartHealth("region", False, str(layout.root), "still coming up (or failed): no manifest"))
        return health
    health.notes = list(manifest.get("notes", []))
    if not manifest.get("ready"):
        health.parts.append(PartHealth("region", False, str(layout.root), "coming up (or its supervisor failed)"))
    alive = {int(str(r["pid"])): r for r in read_process_records(layout.processes) if record_alive(r)}
    health.parts += _probe_servers(manifest, alive)
    health.parts += _probe_zones(manifest, alive)
    return health


def _probe_servers(manifest: dict[str, Any], alive: dict[int, dict[str, Any]]) -> list[PartHealth]:
    parts = []
    for name, key, path in (
        ("Prometheus", "prometheus", "/-/ready"),
        ("Jaeger UI", "jaeger", "/"),
        ("OCI registry", "registry", "/v2/"),
    ):
        part = manifest.get(key)
        if part:
            parts.append(PartHealth(name, http_ok(part["url"] + path), part["url"], pid=part.get("pid")))
    forge = manifest.get("forge")
    if forge:
        ok = forge["pid"] in alive and port_accepts(urlsplit(forge["url"]).port or 0)
        detail = f"repository {forge['repository']}; API {forge['api']}; webhooks to {forge['webhook']}"
        parts.append(PartHealth("forge", ok, forge["url"], detail, forge["pid"]))
    for name, key, url_key in (
        ("bot webhook service", "bot", "url"),
        ("region reconciler", "reconciler", "metrics"),
        ("canary controller", "canary", "metrics"),
        ("fleet page", "page", "url"),
    ):
        part = manifest.get(key)
        if part:
            ok = http_ok(part[url_key]) and part["pid"] in alive
            parts.append(PartHealth(name, ok, part[url_key], pid=part["pid"]))
    for name, nats in manifest.get("nats", {}).items():
        ok = http_ok(nats["monitor"] + "/healthz")
        parts.append(PartHealth(f"NATS {name}", ok, nats["url"], f"monitor {nats['monitor']}", nats.get("pid")))
    fleet = manifest.get("fleet")
    if fleet:
        parts.append(PartHealth("fleet repository", Path(fleet["remote"]).is_dir(), fleet["remote"]))
    if "kubeconfig" in manifest:
        contexts = ", ".join(z["context"] for z in manifest.get("zones", {}).values())
        kubeconfig = manifest["kubeconfig"]
        parts.append(PartHealth("kubeconfig", Path(kubeconfig).is_file(), kubeconfig, f"contexts: {contexts}"))
    return parts


def _probe_zones(manifest: dict[str, Any], alive: dict[int, dict[str, Any]]) -> list[PartHealth]:
    parts = []
    for zone, info in manifest.get("zones", {}).items():
        try:
            available = deployments(Path(manifest["kubeconfig"]), info["context"])
        except Exception as exc:
            parts.append(PartHealth(f"zone {zone}", False, info["apiserver"], f"apiserver: {exc}"))
        else:
            ready = sum(1 for ok in available.values() if ok)
            detail = f"context {info['context']}; Deployments Available {ready}/{len(available)}"
            missing = [name for name, ok in available.items() if not ok]
            if missing:
                detail += f" (not: {', '.join(missing)})"
            parts.append(PartHealth(f"zone {zone}", bool(available) and not missing, info["apiserver"], detail))
        agent = info["agent"]
        parts.append(PartHealth(f"agent {zone}", agent["pid"] in alive, agent["state"], pid=agent["pid"]))
    return parts


def deployments(kubeconfig: Path, context: str) -> dict[str, bool]:
    """The zone's Deployments and StatefulSets (partitioned models) in the edgeops namespace, name → Available
    (a StatefulSet has no such condition: every replica rolled out and available), as its apiserver says."""
    client = ZoneClient.connect(context, context, kubeconfig, timeout_s=5.0)
    try:
        listed = client.list("apps/v1", "Deployment", NAMESPACE)
        stateful = client.list("apps/v1", "StatefulSet", NAMESPACE)
    finally:
        client.close()
    available = {
        d["metadata"]["name"]: any(
            c.get("type") == "Available" and c.get("status") == "True"
            for c in d.get("status", {}).get("conditions", [])
        )
        for d in listed
    }
    return available | {s["metadata"]["name"]: workload_problem(s) is None for s in stateful}


def manifest_ports(layout: Layout) -> list[int]:
    """Every loopback port the manifest's URLs name (for `down` to check that none is left listening)."""
    found: set[int] = set()

    def walk(value: object) -> None:
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str) and "://127.0.0.1:" in value:
            with contextlib.suppress(ValueError):
                port = urlsplit(value).port
                if port:
                    found.add(port)

    walk(read_json(layout.manifest))
    return sorted(found)


def _still_listening(ports: list[int], timeout_s: float) -> list[int]:
    """The ports that still accept connections after `timeout_s` (the kernel closes a dead process's sockets
    shortly after it exits, not at once)."""
    deadline = time.monotonic() + timeout_s
    while True:
        listening = [port for port in ports if port_accepts(port, timeout_s=0.2)]
        if not listening or time.monotonic() > deadline:
            return listening
        time.sleep(0.2)


@dataclass(frozen=True)
class DownReport:
    stopped_supervisor: bool
    stopped: list[str]  # names of recorded processes that were still running after the supervisor
    pods: int  # agent pod processes still running after the supervisor
    listening: list[int]  # ports still accepting connections (should be none)


def stop_region(layout: Layout, timeout_s: float = 90.0) -> DownReport:
    """Stop everything recorded under `layout` and remove the state directory."""
    ports = manifest_ports(layout)
    record = supervisor_record(layout)
    if record is not None:
        pid = int(record["pid"])
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while record_alive(record) and time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            time.sleep(0.2)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
    stopped = [str(r["name"]) for r in kill_recorded_processes(layout.processes)]
    pods = 0
    if layout.agents.is_dir():
        for agent_state in sorted(layout.agents.iterdir()):
            pods += len(kill_recorded(agent_state))
    listening = _still_listening(ports, timeout_s=10.0)
    if not listening:
        shutil.rmtree(layout.root, ignore_errors=True)
    return DownReport(record is not None, stopped, pods, listening)


@dataclass(frozen=True)
class Traffic:
    zone: str
    taken: float  # records the zone's runtimes took from their inputs (edgeops_requests_total)
    results: float  # results they published (edgeops_results_total)
    targets_up: int  # runtime pods Prometheus scrapes successfully


def traffic(layout: Layout) -> list[Traffic]:
    """Per zone, what Prometheus has scraped from the runtime pods: records taken, results published."""
    manifest = read_json(layout.manifest)
    if not isinstance(manifest, dict) or "prometheus" not in manifest:
        return []
    prometheus = manifest["prometheus"]["url"]
    return [
        Traffic(
            zone,
            _query(prometheus, f'sum(edgeops_requests_total{{zone="{zone}"}})'),
            _query(prometheus, f'sum(edgeops_results_total{{zone="{zone}"}})'),
            int(_query(prometheus, f'count(up{{job="runtime",zone="{zone}"}} == 1)')),
        )
        for zone in manifest.get("zones", {})
    ]


def _query(prometheus: str, promql: str) -> float:
    url = f"{prometheus}/api/v1/query?{urlencode({'query': promql})}"
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:  # noqa: S310 - our own loopback server
            result = json.load(reply)["data"]["result"]
    except (OSError, ValueError, KeyError):
        return 0.0
    return float(result[0]["value"][1]) if result else 0.0
