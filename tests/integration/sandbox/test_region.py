"""`edgeops sandbox up | status | down` on one zone of the template's eu-west region, as a user runs them (the
`edgeops` command in subprocesses): `up` brings every part up and the zone's workloads (fraud-scoring is partitioned:
StatefulSets) become available as its apiserver says; Prometheus scrapes the runtime pods the agent runs and their results count the sensor records;
Jaeger (when built) holds traces in which a sensor's publish span is continued by a runtime's inference; `up` again
reports the running region and starts nothing; `down` after the supervisor was SIGKILLed stops every
recorded process (servers and pods), leaves no port listening and removes the state directory."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from reconciler.sandbox import port_accepts
from reconciler.sandbox.localkube import KubeBinaries
from reconciler.sandbox.process import read_process_records, record_alive
from reconciler.sandbox.region import Layout, probe_region, supervisor_record
from reconciler.sandbox.region.control import manifest_ports

pytestmark = pytest.mark.integration

ZONE = "ams-01"


def _edgeops(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reconciler.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "200"},
        check=False,
    )


def _query(prometheus: str, promql: str) -> float:
    url = f"{prometheus}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
    with urllib.request.urlopen(url, timeout=5) as reply:
        result = json.load(reply)["data"]["result"]
    return float(result[0]["value"][1]) if result else 0.0


def _joined_trace(jaeger: str) -> bool:
    """Whether Jaeger holds a trace in which a sensor's publish span is continued by a runtime's inference."""
    url = f"{jaeger}/api/traces?{urllib.parse.urlencode({'service': 'edgeops-sensors', 'limit': 20})}"
    with urllib.request.urlopen(url, timeout=5) as reply:
        traces = json.load(reply).get("data") or []
    return any(
        {p["serviceName"] for p in trace["processes"].values()} >= {"edgeops-sensors", "edgeops-runtime"}
        for trace in traces
    )


def _wait(condition: object, what: str, timeout_s: float) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"not {what} after {timeout_s:.0f} s"
        time.sleep(1)


def _recorded_pids(layout: Layout) -> list[dict[str, object]]:
    records = read_process_records(layout.processes)
    for agent in layout.agents.glob("*/processes"):
        records += read_process_records(agent)
    return records


@pytest.mark.timeout(900)
def test_up_status_up_again_and_down_after_a_killed_supervisor(
    kube_binaries: KubeBinaries, template_fleet: Path, tmp_path: Path
) -> None:
    layout = Layout((tmp_path / "state").resolve())
    state = ["--state-dir", str(layout.root)]
    up = _edgeops("sandbox", "up", str(template_fleet), "--region", "eu-west", "--zone", ZONE, *state)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        assert "region up" in up.stdout
        # Every version of a model the region runs is built from its own recipe and pushed (the demo's pull
        # requests move zones to them), the deliberately slow one included.
        manifest = json.loads(layout.manifest.read_text())
        for version in ("fraud-scoring 1.0.0", "fraud-scoring 1.1.0", "fraud-scoring 1.2.0-slow"):
            assert any(version in pushed for pushed in manifest["fleet"]["pushed"]), manifest["fleet"]

        def zone_available() -> bool:
            health = probe_region(layout)
            assert health is not None
            zone = next(p for p in health.parts if p.name == f"zone {ZONE}")
            return zone.healthy

        _wait(zone_available, f"{ZONE}'s Deployments Available", 240)
        prometheus = manifest["prometheus"]["url"]
        results = f'sum(edgeops_results_total{{zone="{ZONE}"}})'
        _wait(lambda: _query(prometheus, results) > 0, "scoring the sensors' records", 120)
        # Every replica scraped (the first results may come before Prometheus has scraped the last pod it found).
        scraped = f'count(up{{job="runtime",zone="{ZONE}"}} == 1)'
        _wait(lambda: _query(prometheus, scraped) >= 2, "every replica scraped", 120)

        if shutil.which("jaeger"):  # built by tests/env/install-jaeger.sh (the bootstrap): traces must arrive
            jaeger = manifest["jaeger"]["url"]
            _wait(lambda: _joined_trace(jaeger), "a sensor → inference trace in Jaeger", 120)

        status = _edgeops("sandbox", "status", *state, timeout=120)
        assert status.returncode == 0, status.stdout + status.stderr
        for part in ("Prometheus", "OCI registry", "region reconciler", "NATS hub", f"NATS {ZONE}", f"agent {ZONE}"):
            assert part in status.stdout
        # The zone starts on its stable version (the demo starts canaries): its one workload, the partitioned
        # fraud-scoring StatefulSet, is available, as its apiserver says.
        assert "Available 1/1" in status.stdout
        # The fleet page is up and shows the zone from its records.
        page = manifest["page"]["url"]
        assert "fleet page" in status.stdout
        assert page in status.stdout
        with urllib.request.urlopen(page, timeout=30) as reply:
            assert ZONE in reply.read().decode()

        supervisor = supervisor_record(layout)
        assert supervisor is not None
        again = _edgeops("sandbox", "up", str(template_fleet), "--zone", ZONE, *state, timeout=120)
        assert again.returncode == 0, again.stdout + again.stderr
        assert "already runs" in again.stdout
        assert supervisor_record(layout) == supervisor  # the same supervisor, nothing started twice

        records = _recorded_pids(layout)
        assert any("agent" in str(r.get("name")) for r in records)
        assert any(r.get("container") for r in records)  # the runtime pods' processes, recorded by the agent
        ports = manifest_ports(layout)
        assert ports
        os.kill(int(str(supervisor["pid"])), signal.SIGKILL)
        time.sleep(1)
        assert any(record_alive(r) for r in records)  # orphaned, still running: what `down` must find
    finally:
        down = _edgeops("sandbox", "down", *state, timeout=300)
    assert down.returncode == 0, down.stdout + down.stderr
    assert "stopped what it left running" in down.stdout
    assert not [r for r in records if record_alive(r)]
    assert [p for p in ports if port_accepts(p, timeout_s=0.2)] == []
    assert not layout.root.exists()
