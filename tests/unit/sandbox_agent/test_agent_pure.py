"""The node agent's pure parts.

Matrix: Nodes per zone of the template fleet (pool, arch, OS labels; GPU capacity only where the zone has an
accelerator); env resolution (literals with `$(VAR)`, ConfigMap/Secret key refs, optional refs, fieldRefs, envFrom
with prefix; a missing Secret or key is CreateContainerConfigError in the kubelet's words); `$(VAR)` expansion
(generated texts); container paths mapped into mounts or the pod's rootfs and never out of them (generated paths
with `..`); image repositories (registry ports, digests); the rendered runtime container → the local `edgeops
serve` with its localized runtime.json (validates as a RuntimeConfig, loopback metrics port, pod directories, NATS
and registry through the service table); other containers run as given, an image without a command refused;
crash-loop back-off (generated: bounded, doubling, capped); pod phase and status per container states; probe
thresholds.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.app.desired import load_desired
from reconciler.core.render import render_zone
from reconciler.core.render.labels import ARCH_LABEL, GPU_RESOURCE, NODEPOOL_LABEL
from reconciler.core.spec import FleetSpec
from reconciler.sandbox.agent import (
    AGENT_LABEL,
    ContainerConfigError,
    ContainerView,
    Mounts,
    crash_backoff,
    expand,
    host_port,
    launch,
    localize_runtime_config,
    nodes_for_zone,
    phase,
    pod_status,
    resolve_env,
)
from reconciler.sandbox.agent.mapping import image_repository, ports_annotation
from reconciler.sandbox.agent.status import ProbeTracker, Running, Terminated, Waiting, exit_code_of, will_restart
from runtime import RuntimeConfig

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[3]
REV = "0123456789abcdef0123456789abcdef01234567"
T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
EDGEOPS = ("/venv/bin/edgeops",)


@pytest.fixture(scope="module")
def spec() -> FleetSpec:
    loaded = load_desired(REPO)
    assert loaded.spec is not None
    return loaded.spec


class Objects:
    """ConfigMaps and Secrets of one namespace, as the apiserver would hand them to the agent."""

    def __init__(
        self, config_maps: Mapping[str, Mapping[str, str]] = {}, secrets: Mapping[str, Mapping[str, str]] = {}
    ) -> None:
        self.config_maps, self.secrets = config_maps, secrets

    def config_map(self, namespace: str, name: str) -> Mapping[str, str] | None:
        return self.config_maps.get(name)

    def secret(self, namespace: str, name: str) -> Mapping[str, str] | None:
        return self.secrets.get(name)


POD = {
    "metadata": {"name": "p-1", "namespace": "edgeops", "uid": "u-1", "labels": {"app": "a"}},
    "spec": {"nodeName": "n1"},
}


# ---------------------------------------------------------------- nodes


def test_every_template_zone_gets_a_node_per_pool_labelled_as_it_declares(spec: FleetSpec) -> None:
    for zone in spec.zones:
        nodes = nodes_for_zone(zone)
        pools = [p.name for p in zone.spec.node_pools]
        assert len(nodes) == max(1, len(pools))
        assert [n.labels.get(NODEPOOL_LABEL) for n in nodes] == (pools or [None])
        for node in nodes:
            assert node.labels[ARCH_LABEL] == zone.spec.hardware.arch
            assert node.labels["kubernetes.io/os"] == "linux"
            assert node.labels[AGENT_LABEL] == zone.name
            assert (GPU_RESOURCE in node.capacity) == (zone.spec.hardware.accelerator != "none")


def test_a_zones_nodes_match_the_node_selectors_of_its_rendered_deployments(spec: FleetSpec) -> None:
    for zone in spec.zones:
        labels = [n.labels for n in nodes_for_zone(zone)]
        for manifest in render_zone(spec, zone, REV):
            if manifest.obj()["kind"] not in ("Deployment", "StatefulSet"):
                continue
            selector = manifest.obj()["spec"]["template"]["spec"]["nodeSelector"]
            assert any(all(node.get(k) == v for k, v in selector.items()) for node in labels), (zone.name, selector)


# ---------------------------------------------------------------- env


def test_env_resolves_literals_references_and_fields_in_order() -> None:
    container = {
        "name": "c",
        "envFrom": [{"configMapRef": {"name": "settings"}, "prefix": "CFG_"}],
        "env": [
            {"name": "BASE", "value": "/data"},
            {"name": "PATHISH", "value": "$(BASE)/models and $(UNDEFINED) and $$(BASE)"},
            {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "users", "key": "runtime-password"}}},
            {"name": "LEVEL", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "level"}}},
            {"name": "GONE", "valueFrom": {"secretKeyRef": {"name": "absent", "key": "x", "optional": True}}},
            {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
            {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        ],
    }
    objects = Objects({"settings": {"level": "debug"}}, {"users": {"runtime-password": "s3cret"}})
    env = resolve_env(container, POD, objects, extra={"EDGEOPS_SANDBOX_PORT_9464": "40000"})
    assert env == {
        "EDGEOPS_SANDBOX_PORT_9464": "40000",
        "CFG_level": "debug",
        "BASE": "/data",
        "PATHISH": "/data/models and $(UNDEFINED) and $(BASE)",
        "PASSWORD": "s3cret",
        "LEVEL": "debug",
        "POD": "p-1",
        "APP": "a",
        "IP": "127.0.0.1",
    }


@pytest.mark.parametrize(
    ("entry", "objects", "message"),
    [
        ({"secretKeyRef": {"name": "users", "key": "k"}}, Objects(), 'secret "users" not found'),
        ({"secretKeyRef": {"name": "users", "key": "k"}}, Objects(secrets={"users": {}}), "couldn't find key k in Secret edgeops/users"),
        ({"configMapKeyRef": {"name": "cm", "key": "k"}}, Objects(), 'configmap "cm" not found'),
        ({"fieldRef": {"fieldPath": "status.phase"}}, Objects(), "fieldRef status.phase is not supported"),
    ],
)  # fmt: skip
def test_a_missing_reference_is_create_container_config_error(
    entry: dict[str, Any], objects: Objects, message: str
) -> None:
    container = {"name": "c", "env": [{"name": "X", "valueFrom": entry}]}
    with pytest.raises(ContainerConfigError, match=message) as raised:
        resolve_env(container, POD, objects)
    assert raised.value.reason == "CreateContainerConfigError"


names = st.from_regex(r"[A-Z_][A-Z0-9_]{0,8}", fullmatch=True)


@given(
    st.dictionaries(names, st.text(max_size=10)), st.text(alphabet=st.characters(blacklist_characters="$"), max_size=30)
)
def test_text_without_references_expands_to_itself(env: dict[str, str], text: str) -> None:
    assert expand(text, env) == text


@given(st.dictionaries(names, st.text(max_size=10), min_size=1), st.data())
def test_a_defined_reference_expands_and_an_escaped_one_stays(env: dict[str, str], data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(env)))
    assert expand(f"<$({name})>", env) == f"<{env[name]}>"
    assert expand(f"$$({name})", env) == f"$({name})"


# ---------------------------------------------------------------- paths and images


def test_container_paths_map_into_the_innermost_mount_or_the_rootfs(tmp_path: Path) -> None:
    container = {
        "name": "c",
        "volumeMounts": [
            {"name": "state", "mountPath": "/var/lib/edgeops"},
            {"name": "config", "mountPath": "/etc/edgeops", "readOnly": True},
            {"name": "models", "mountPath": "/var/lib/edgeops/models"},
            {"name": "config", "mountPath": "/etc/one.json", "subPath": "runtime.json"},
        ],
    }
    volumes = {"state": tmp_path / "v/state", "config": tmp_path / "v/config", "models": Path("/srv/models")}
    mounts = Mounts.for_container(container, volumes, tmp_path / "rootfs")
    assert mounts.to_host("/etc/edgeops/runtime.json") == tmp_path / "v/config/runtime.json"
    assert mounts.to_host("/var/lib/edgeops/features.duckdb") == tmp_path / "v/state/features.duckdb"
    assert mounts.to_host("/var/lib/edgeops/models/a.onnx") == Path("/srv/models/a.onnx")
    assert mounts.to_host("/etc/one.json") == tmp_path / "v/config/runtime.json"
    assert mounts.to_host("/tmp/x") == tmp_path / "rootfs/tmp/x"
    assert mounts.to_host("/etc/edgeops/../../x") == tmp_path / "rootfs/x"
    assert mounts.map_arg("/etc/edgeops/runtime.json") == str(tmp_path / "v/config/runtime.json")
    assert mounts.map_arg("--flag") == "--flag"


def test_a_subpath_that_climbs_out_is_refused(tmp_path: Path) -> None:
    container = {"name": "c", "volumeMounts": [{"name": "v", "mountPath": "/x", "subPath": "../etc"}]}
    with pytest.raises(ContainerConfigError, match="subPath"):
        Mounts.for_container(container, {"v": tmp_path / "v"}, tmp_path / "rootfs")


@given(st.lists(st.sampled_from(["..", ".", "etc", "edgeops", "var", "lib", "x", ""]), max_size=8))
def test_no_container_path_maps_outside_the_pods_directories(parts: list[str]) -> None:
    pod_dir = Path("/state/pods/u")
    container = {"name": "c", "volumeMounts": [{"name": "config", "mountPath": "/etc/edgeops"}]}
    mounts = Mounts.for_container(container, {"config": pod_dir / "volumes/config"}, pod_dir / "rootfs")
    mapped = mounts.to_host("/" + "/".join(parts))
    assert ".." not in mapped.parts
    assert mapped.is_relative_to(pod_dir / "volumes/config") or mapped.is_relative_to(pod_dir / "rootfs")


@pytest.mark.parametrize(
    ("image", "repository"),
    [
        ("ghcr.io/edgeops/runtime:0.1.0", "ghcr.io/edgeops/runtime"),
        ("ghcr.io/edgeops/runtime-gpu@sha256:" + "a" * 64, "ghcr.io/edgeops/runtime-gpu"),
        ("127.0.0.1:5000/edgeops/runtime:1@sha256:" + "b" * 64, "127.0.0.1:5000/edgeops/runtime"),
        ("busybox", "busybox"),
    ],
)
def test_image_repository_drops_tag_and_digest_but_not_a_registry_port(image: str, repository: str) -> None:
    assert image_repository(image) == repository


# ---------------------------------------------------------------- the rendered runtime


def _rendered_runtime(spec: FleetSpec) -> tuple[dict[str, Any], str]:
    zone = next(z for z in spec.zones if z.spec.models)
    objects = [m.obj() for m in render_zone(spec, zone, REV)]
    deployment = next(o for o in objects if o["kind"] in ("Deployment", "StatefulSet"))
    pod_spec = deployment["spec"]["template"]["spec"]
    config_map_name = next(v["configMap"]["name"] for v in pod_spec["volumes"] if "configMap" in v)
    config_map = next(o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == config_map_name)
    return pod_spec, config_map["data"]["runtime.json"]


def test_the_rendered_runtime_container_runs_the_local_edgeops_with_a_localized_config(
    spec: FleetSpec, tmp_path: Path
) -> None:
    pod_spec, runtime_json = _rendered_runtime(spec)
    container = pod_spec["containers"][0]
    volumes = {v["name"]: tmp_path / "volumes" / v["name"] for v in pod_spec["volumes"]}
    mounts = Mounts.for_container(container, volumes, tmp_path / "rootfs")
    plan = launch(container, {}, mounts, edgeops=EDGEOPS)
    assert plan.argv[: len(EDGEOPS) + 1] == (*EDGEOPS, "serve")
    assert plan.runtime_config == "/etc/edgeops/runtime.json"
    assert plan.config_index is not None
    assert plan.argv[plan.config_index] == "/etc/edgeops/runtime.json"  # the agent puts its local copy there

    rendered = RuntimeConfig.model_validate_json(runtime_json)
    nats_address = rendered.nats.url.removeprefix("nats://")
    local = localize_runtime_config(
        runtime_json, ports={9464: 41000}, mounts=mounts, services={nats_address: "127.0.0.1:4333"}
    )
    config = RuntimeConfig.model_validate_json(local)
    assert (config.metrics_port, config.metrics_host) == (41000, "127.0.0.1")
    assert config.nats.url == "nats://127.0.0.1:4333"
    assert Path(config.model_dir).is_relative_to(tmp_path / "volumes/state")
    assert Path(config.feature_store.path).is_relative_to(tmp_path / "volumes/state")
    # The models are the rendered ones (their registry host is not in the service table here).
    assert config.models == rendered.models


def test_the_runtimes_metrics_port_must_be_a_declared_container_port(spec: FleetSpec, tmp_path: Path) -> None:
    _, runtime_json = _rendered_runtime(spec)
    mounts = Mounts((), tmp_path / "rootfs")
    with pytest.raises(ContainerConfigError, match="metrics_port 9464") as raised:
        localize_runtime_config(runtime_json, ports={8080: 41000}, mounts=mounts, services={})
    assert raised.value.reason == "CreateContainerError"


def test_registry_hosts_of_artifact_refs_go_through_the_service_table(tmp_path: Path) -> None:
    doc = {"metrics_port": 9464, "models": [{"name": "m", "artifact": {"ref": "registry.edgeops.svc:5000/m:1"}}]}
    local = localize_runtime_config(
        json.dumps(doc),
        ports={9464: 1},
        mounts=Mounts((), tmp_path),
        services={"registry.edgeops.svc:5000": "127.0.0.1:5999"},
    )
    assert json.loads(local)["models"][0]["artifact"]["ref"] == "127.0.0.1:5999/m:1"


def test_text_that_is_not_json_is_left_for_the_runtime_to_reject(tmp_path: Path) -> None:
    assert localize_runtime_config("{not json", ports={}, mounts=Mounts((), tmp_path), services={}) == "{not json"


def test_other_containers_run_as_given_and_an_image_alone_is_refused(tmp_path: Path) -> None:
    mounts = Mounts((("/etc/app", tmp_path / "cfg"),), tmp_path / "rootfs")
    given_command = {"name": "c", "image": "python:3", "command": ["python3"], "args": ["/etc/app/x.py", "$(PORT)"]}
    assert launch(given_command, {"PORT": "4000"}, mounts, edgeops=EDGEOPS).argv == (
        "python3",
        str(tmp_path / "cfg/x.py"),
        "4000",
    )
    with pytest.raises(ContainerConfigError, match="not the runtime's and no command") as raised:
        launch({"name": "c", "image": "nginx:1"}, {}, mounts, edgeops=EDGEOPS)
    assert raised.value.reason == "CreateContainerError"
    runtime_default = launch({"name": "r", "image": "ghcr.io/edgeops/runtime:0.1.0"}, {}, mounts, edgeops=EDGEOPS)
    assert runtime_default.argv == (*EDGEOPS, "serve", "--config", "/etc/edgeops/runtime.json")
    equals = {
        "name": "r",
        "image": "ghcr.io/edgeops/runtime:0.1.0",
        "command": ["edgeops", "serve", "--config=/c.json"],
    }
    assert launch(equals, {}, mounts, edgeops=EDGEOPS).runtime_config == "/c.json"


def test_host_ports_are_read_back_from_the_pods_annotation() -> None:
    pod = {"metadata": {"annotations": {"sandbox.edgeops.io/host-ports": ports_annotation({9464: 40001, 80: 40002})}}}
    assert host_port(pod, 9464) == 40001
    assert host_port(pod, 80) == 40002
    assert host_port(pod, 81) is None
    assert host_port({"metadata": {}}, 9464) is None


# ---------------------------------------------------------------- restarts, phase, status, probes


@given(st.integers(min_value=1, max_value=10_000), st.floats(0.1, 60), st.floats(1, 600))
def test_crash_back_off_doubles_from_the_base_and_stays_under_the_cap(crashes: int, base: float, cap: float) -> None:
    delay = crash_backoff(crashes, base, cap)
    assert min(base, cap) <= delay <= cap
    assert crash_backoff(crashes + 1, base, cap) >= delay
    if crashes < 30 and base * 2 ** (crashes - 1) < cap:
        assert delay == pytest.approx(base * 2 ** (crashes - 1))


def test_kubelet_back_off_defaults() -> None:
    assert [crash_backoff(n) for n in range(0, 8)] == [0.0, 10.0, 20.0, 40.0, 80.0, 160.0, 300.0, 300.0]


@pytest.mark.parametrize(
    ("policy", "code", "restarts"),
    [("Always", 0, True), ("Always", 1, True), ("OnFailure", 0, False), ("OnFailure", 2, True), ("Never", 1, False)],
)
def test_restart_policy(policy: str, code: int, restarts: bool) -> None:
    assert will_restart(policy, code) is restarts


def test_a_signal_exit_reads_as_128_plus_the_signal() -> None:
    assert exit_code_of(-9) == 137
    assert exit_code_of(3) == 3


def _view(state: Any, *, last: Terminated | None = None, ready: bool = False) -> ContainerView:
    return ContainerView("c", "img", state, last, 0, ready)


DONE_OK = Terminated(0, "Completed", T0, T0)
DONE_BAD = Terminated(1, "Error", T0, T0)


@pytest.mark.parametrize(
    ("views", "policy", "expected"),
    [
        ([], "Always", "Pending"),
        ([_view(Waiting("ContainerCreating"))], "Always", "Pending"),
        ([_view(Waiting("CreateContainerConfigError"))], "Always", "Pending"),
        ([_view(Running(T0))], "Always", "Running"),
        ([_view(Waiting("CrashLoopBackOff"), last=DONE_BAD)], "Always", "Running"),
        ([_view(Running(T0)), _view(Waiting("ContainerCreating"))], "Always", "Pending"),
        ([_view(DONE_OK)], "Never", "Succeeded"),
        ([_view(DONE_BAD)], "Never", "Failed"),
        ([_view(DONE_OK), _view(DONE_BAD)], "OnFailure", "Running"),
        ([_view(DONE_OK), _view(DONE_OK)], "OnFailure", "Succeeded"),
    ],
)
def test_pod_phase(views: list[ContainerView], policy: str, expected: str) -> None:
    assert phase(views, policy) == expected


def test_pod_status_ready_only_when_every_container_is_and_transitions_keep_their_time() -> None:
    pod = {
        "spec": {},
        "status": {"conditions": [{"type": "PodScheduled", "status": "True", "lastTransitionTime": "x"}]},
    }
    waiting = pod_status(pod, [_view(Running(T0), ready=True), _view(Running(T0))], now=T0, start_time=T0)
    conditions = {c["type"]: c for c in waiting["conditions"]}
    assert conditions["Ready"]["status"] == "False"
    assert conditions["Ready"]["message"] == "containers with unready status: [c]"
    assert conditions["PodScheduled"]["lastTransitionTime"] == "x"
    assert waiting["phase"] == "Running"
    assert waiting["podIP"] == "127.0.0.1"

    later = datetime(2026, 1, 2, 3, 5, 0, tzinfo=UTC)
    ready = pod_status({**pod, "status": waiting}, [_view(Running(T0), ready=True)], now=later, start_time=T0)
    conditions = {c["type"]: c for c in ready["conditions"]}
    assert conditions["Ready"] == {
        "type": "Ready",
        "status": "True",
        "lastProbeTime": None,
        "lastTransitionTime": "2026-01-02T03:05:00Z",
    }
    assert conditions["Initialized"]["lastTransitionTime"] == "2026-01-02T03:04:05Z"
    (container,) = ready["containerStatuses"]
    assert container["state"] == {"running": {"startedAt": "2026-01-02T03:04:05Z"}}
    assert container["lastState"] == {}


def test_a_crash_looping_container_reports_its_last_exit() -> None:
    view = ContainerView("c", "img", Waiting("CrashLoopBackOff", "back-off 10s"), DONE_BAD, 3, False)
    (container,) = pod_status({"spec": {}}, [view], now=T0, start_time=T0)["containerStatuses"]
    assert container["state"] == {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 10s"}}
    assert container["lastState"]["terminated"]["exitCode"] == 1
    assert container["restartCount"] == 3


@given(st.integers(1, 5), st.integers(1, 5), st.lists(st.booleans(), max_size=30))
def test_probe_verdict_follows_the_thresholds(success: int, failure: int, results: list[bool]) -> None:
    probe = {"periodSeconds": 1, "successThreshold": success, "failureThreshold": failure, "initialDelaySeconds": 2}
    tracker = ProbeTracker.from_probe(probe, 100.0, initial=False)
    assert not tracker.due(101.0)
    assert tracker.due(102.0)
    verdict, now = False, 102.0
    for index, ok in enumerate(results):
        verdict = tracker.record(ok, now)
        now += 1
        tail = results[: index + 1]
        if len(tail) >= success and all(tail[-success:]):
            assert verdict
        if len(tail) >= failure and not any(tail[-failure:]):
            assert not verdict
    assert tracker.next_at == now
