"""The sandbox region's pure parts.

Matrix: Prometheus targets from pods (only ports named `metrics` the agent has mapped, labelled with zone,
namespace and pod; generated pods: every target is a mapped metrics port, every mapped metrics port a target;
pods before the agent started them, and annotations someone else wrote, give none); the ports `down` checks
(every loopback URL's port in a manifest, generated nestings); process records (a live process is alive, a dead
pid or a reused pid with another start time is not).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.sandbox.agent import PORTS_ANNOTATION
from reconciler.sandbox.process import read_process_records, record_alive, write_process_record
from reconciler.sandbox.region import Layout, scrape_targets
from reconciler.sandbox.region.control import manifest_ports
from reconciler.sandbox.region.layout import write_json

pytestmark = pytest.mark.unit

ports = st.integers(min_value=1, max_value=65535)


def pod(name: str, container_ports: list[tuple[str, int]], mapped: dict[int, int] | None) -> dict[str, Any]:
    annotations = {} if mapped is None else {PORTS_ANNOTATION: json.dumps({str(k): v for k, v in mapped.items()})}
    return {
        "metadata": {"name": name, "namespace": "edgeops", "annotations": annotations},
        "spec": {"containers": [{"ports": [{"name": n, "containerPort": p} for n, p in container_ports]}]},
    }


def test_a_runtime_pod_is_scraped_on_its_mapped_metrics_port() -> None:
    pods = [pod("fraud-1", [("metrics", 9464), ("http", 8080)], {9464: 41000, 8080: 41001})]
    assert scrape_targets(pods, "ams-01") == [
        {"targets": ["127.0.0.1:41000"], "labels": {"zone": "ams-01", "namespace": "edgeops", "pod": "fraud-1"}}
    ]


@pytest.mark.parametrize(
    "annotation",
    [None, "not json", "[1, 2]", '{"9464": "x"}'],
    ids=["not started", "garbage", "a list", "a port that is not a number"],
)
def test_pods_without_a_usable_mapping_give_no_target(annotation: str | None) -> None:
    item = pod("p", [("metrics", 9464)], None)
    if annotation is not None:
        item["metadata"]["annotations"][PORTS_ANNOTATION] = annotation
    assert scrape_targets([item], "z") == []


@given(
    st.lists(
        st.tuples(
            st.lists(
                st.tuples(st.sampled_from(["metrics", "http", "grpc"]), ports), max_size=4, unique_by=lambda t: t[1]
            ),
            st.dictionaries(ports, ports, max_size=4),
        ),
        max_size=5,
    )
)
def test_targets_are_exactly_the_mapped_metrics_ports(
    generated: list[tuple[list[tuple[str, int]], dict[int, int]]],
) -> None:
    pods = [pod(f"p{i}", declared, mapped) for i, (declared, mapped) in enumerate(generated)]
    expected = sorted(
        f"127.0.0.1:{mapped[port]}"
        for declared, mapped in generated
        for name, port in declared
        if name == "metrics" and port in mapped
    )
    found = sorted(t for entry in scrape_targets(pods, "z") for t in entry["targets"])
    assert found == expected


@given(st.lists(ports, min_size=1, max_size=8), st.integers(min_value=0, max_value=3))
def test_down_checks_every_port_the_manifest_names(numbers: list[int], depth: int) -> None:
    urls: Any = {"prometheus": {"url": f"http://127.0.0.1:{numbers[0]}"}}
    for i, number in enumerate(numbers[1:]):
        value: Any = f"nats://127.0.0.1:{number}/x"
        for _ in range(depth):
            value = [{"url": value}]
        urls[f"part{i}"] = value
    urls["elsewhere"] = "https://registry.example:443/edge-models"  # not ours: not checked
    layout = Layout(Path(f"/tmp/edgeops-unit-manifest-{os.getpid()}"))
    try:
        write_json(layout.manifest, urls)
        assert manifest_ports(layout) == sorted(set(numbers))
    finally:
        layout.manifest.unlink(missing_ok=True)
        layout.root.rmdir()


def test_a_record_names_its_process_and_no_other(tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        path = write_process_record(tmp_path, "sleeper/one", child.pid, argv=["sleep"])
        [record] = read_process_records(tmp_path)
        assert record["name"] == "sleeper/one"
        assert record["path"] == str(path)
        assert record_alive(record)
        assert not record_alive({**record, "start_ticks": int(str(record["start_ticks"])) + 1})  # a reused pid
    finally:
        child.kill()
        child.wait()
    assert not record_alive(record)
