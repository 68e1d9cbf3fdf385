"""The sandbox node agent against a real local zone (kube-apiserver, controller-manager, scheduler): Deployments'
pods run as local processes and become Ready (the Deployment Available); a crashing command restarts with a
growing restartCount and CrashLoopBackOff; a missing Secret holds a container in CreateContainerConfigError until
it exists; deleting a pod stops its process and the ReplicaSet's replacement starts; a changed node pool selector
moves the pods to the other pool's Node; the processes of a SIGKILLed agent are found and stopped from its records;
a StatefulSet's pods (a partitioned model's) run as `<name>-<ordinal>` with their name in the environment, and a
deleted one comes back under its name.

Each test registers Nodes of its own (unique names and pool label) in the module's zone, so pods of one test are
never scheduled to another's agent.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.app.reconcile import workload_problem
from reconciler.core.render.labels import ARCH_LABEL, NODEPOOL_LABEL
from reconciler.sandbox.agent import (
    AgentClient,
    AgentOptions,
    AgentThread,
    NodeAgent,
    NodeSpec,
    RunOptions,
    alive,
    host_port,
    kill_recorded,
    read_records,
)
from reconciler.sandbox.localkube import KubeBinaries, LocalKube
from tests.fixtures.edge_runtime import build_example_model, setup_streams
from tests.fixtures.edge_runtime import deployment as runtime_model
from tests.fixtures.kube import admin_client
from tests.fixtures.nats import NatsServer
from tests.integration.runtime.helpers import example_records, publish_records, results_at_least, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ZONE = "agent"
REPO = Path(__file__).resolve().parents[3]
# A web server on the port the agent gives the pod's containerPort 8080; every path answers 200.
WEB_SERVER = """
import http.server, os
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(os.environ.get("GREETING", "ok").encode())
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(os.environ["EDGEOPS_SANDBOX_PORT_8080"])), Handler).serve_forever()
"""


@pytest.fixture(scope="module")
def zone_env(kube_binaries: KubeBinaries, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKube]:
    env = LocalKube(tmp_path_factory.mktemp("agent-kube"), binaries=kube_binaries)
    try:
        env.start_zones([ZONE])
        yield env
    finally:
        env.close()


class Cluster:
    """The zone through the `kubernetes` client, in one namespace of the test's own."""

    def __init__(self, env: LocalKube, namespace: str) -> None:
        from kubernetes import client

        api = admin_client(env, ZONE)
        self.core = client.CoreV1Api(api)
        self.apps = client.AppsV1Api(api)
        self.namespace = namespace
        self.core.create_namespace({"metadata": {"name": namespace}})

    def pods(self, app: str) -> list[dict[str, Any]]:
        listed = self.core.list_namespaced_pod(self.namespace, label_selector=f"app={app}")
        return [api_dict(self.core, p) for p in listed.items]

    def deployment(self, name: str) -> dict[str, Any]:
        return api_dict(self.apps, self.apps.read_namespaced_deployment(name, self.namespace))


def api_dict(api: Any, obj: Any) -> dict[str, Any]:
    result: dict[str, Any] = api.api_client.sanitize_for_serialization(obj)
    return result


@pytest.fixture
def cluster(zone_env: LocalKube) -> Iterator[Cluster]:
    found = Cluster(zone_env, f"t-{uuid.uuid4().hex[:8]}")
    yield found
    found.core.delete_namespace(found.namespace)


@pytest.fixture
def start_agent(zone_env: LocalKube, tmp_path: Path) -> Iterator[Callable[..., AgentThread]]:
    started: list[AgentThread] = []

    def start(nodes: list[NodeSpec], **run: Any) -> AgentThread:
        client = AgentClient.connect(ZONE, context=ZONE, kubeconfig=zone_env.kubeconfig)
        options = AgentOptions(state_dir=tmp_path / f"agent-{len(started)}", run=RunOptions(**run), sync_interval_s=0.3)
        thread = AgentThread(NodeAgent(client, nodes, options)).start()
        started.append(thread)
        return thread

    yield start
    for thread in started:
        thread.stop()


def node(pool: str, name: str | None = None) -> NodeSpec:
    name = name or f"n-{pool}"
    labels = {ARCH_LABEL: "amd64", "kubernetes.io/os": "linux", NODEPOOL_LABEL: pool}
    return NodeSpec(
        name=name, labels=labels, capacity={"cpu": "8", "memory": "16Gi", "pods": "20"}, arch="amd64", zone=ZONE
    )


def unique_pool() -> str:
    return f"p-{uuid.uuid4().hex[:8]}"


def deployment(
    name: str,
    pool: str,
    *,
    replicas: int = 1,
    command: list[str] | None = None,
    env: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": "web",
        "image": "example.org/web:1",
        "command": command or [sys.executable, "-c", WEB_SERVER],
        "ports": [{"name": "http", "containerPort": 8080}],
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "http"}, "periodSeconds": 1},
        "env": env or [],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "nodeSelector": {ARCH_LABEL: "amd64", NODEPOOL_LABEL: pool},
                    "terminationGracePeriodSeconds": 5,
                    "containers": [container],
                },
            },
        },
    }


def eventually(check: Callable[[], Any], timeout_s: float = 90.0, what: str = "condition") -> Any:
    """Poll `check` until it returns something truthy; fail with its last value."""
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.3)
    pytest.fail(f"{what} not reached in {timeout_s:.0f} s; last: {last!r}")


def available(cluster: Cluster, name: str, replicas: int) -> bool:
    status = cluster.deployment(name).get("status", {})
    conditions = {c["type"]: c["status"] for c in status.get("conditions", [])}
    return (
        status.get("availableReplicas") == replicas
        and status.get("updatedReplicas") == replicas
        and status.get("replicas") == replicas
        and conditions.get("Available") == "True"
    )


def ready_pods(cluster: Cluster, app: str) -> list[dict[str, Any]]:
    return [
        p
        for p in cluster.pods(app)
        if not p["metadata"].get("deletionTimestamp")
        and any(c["type"] == "Ready" and c["status"] == "True" for c in p.get("status", {}).get("conditions", []))
    ]


def pid_of(pod: dict[str, Any]) -> int:
    return int(pod["status"]["containerStatuses"][0]["containerID"].removeprefix("process://"))


def process_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=2) as reply:
        return reply.status, reply.read().decode()


def test_deployment_pods_start_as_processes_and_become_ready(
    cluster: Cluster, start_agent: Callable[..., AgentThread]
) -> None:
    pool = unique_pool()
    start_agent([node(pool)])
    cluster.apps.create_namespaced_deployment(cluster.namespace, deployment("web", pool, replicas=2))

    eventually(lambda: available(cluster, "web", 2), what="Deployment web Available with 2 replicas")
    pods = ready_pods(cluster, "web")
    assert len(pods) == 2
    ports = set()
    for pod in pods:
        status = pod["status"]
        assert status["phase"] == "Running"
        assert status["podIP"] == "127.0.0.1"
        assert pod["spec"]["nodeName"] == f"n-{pool}"
        container = status["containerStatuses"][0]
        assert container["ready"] is True
        assert container["restartCount"] == 0
        assert "running" in container["state"]
        assert process_alive(pid_of(pod))
        port = host_port(pod, 8080)
        assert port is not None
        ports.add(port)
        assert get(f"http://127.0.0.1:{port}/readyz") == (200, "ok")
    assert len(ports) == 2, "each pod gets a port of its own"


def test_a_crashing_command_restarts_with_crash_loop_back_off(
    cluster: Cluster, start_agent: Callable[..., AgentThread]
) -> None:
    pool = unique_pool()
    start_agent([node(pool)], backoff_base_s=0.5, backoff_cap_s=2.0)
    crashing = [sys.executable, "-c", "import sys; print('failing on purpose'); sys.exit(3)"]
    cluster.apps.create_namespaced_deployment(cluster.namespace, deployment("crasher", pool, command=crashing))

    def crash_looping() -> dict[str, Any] | None:
        pods = cluster.pods("crasher")
        statuses = pods[0].get("status", {}).get("containerStatuses") if pods else None
        if not statuses:
            return None
        container: dict[str, Any] = statuses[0]
        waiting = container["state"].get("waiting", {})
        return container if container["restartCount"] >= 2 and waiting.get("reason") == "CrashLoopBackOff" else None

    container = eventually(crash_looping, what="restartCount >= 2 in CrashLoopBackOff")
    assert container["lastState"]["terminated"]["exitCode"] == 3
    assert container["lastState"]["terminated"]["reason"] == "Error"
    assert container["ready"] is False
    pod = cluster.pods("crasher")[0]
    assert pod["status"]["phase"] == "Running"  # restarting under restartPolicy Always
    status = cluster.deployment("crasher").get("status", {})
    assert not status.get("availableReplicas")


def test_a_missing_secret_holds_the_container_until_it_exists(
    cluster: Cluster, start_agent: Callable[..., AgentThread]
) -> None:
    pool = unique_pool()
    start_agent([node(pool)])
    env = [{"name": "GREETING", "valueFrom": {"secretKeyRef": {"name": "greeting", "key": "text"}}}]
    cluster.apps.create_namespaced_deployment(cluster.namespace, deployment("secretive", pool, env=env))

    def config_error() -> str | None:
        pods = cluster.pods("secretive")
        statuses = pods[0].get("status", {}).get("containerStatuses") if pods else None
        waiting = statuses[0]["state"].get("waiting", {}) if statuses else {}
        return waiting.get("message") if waiting.get("reason") == "CreateContainerConfigError" else None

    message = eventually(config_error, what="CreateContainerConfigError")
    assert 'secret "greeting" not found' in message
    assert cluster.pods("secretive")[0]["status"]["phase"] == "Pending"

    cluster.core.create_namespaced_secret(
        cluster.namespace, {"metadata": {"name": "greeting"}, "stringData": {"text": "hello from a Secret"}}
    )
    eventually(lambda: available(cluster, "secretive", 1), what="Deployment secretive Available")
    port = host_port(ready_pods(cluster, "secretive")[0], 8080)
    assert get(f"http://127.0.0.1:{port}/") == (200, "hello from a Secret")


def test_deleting_a_pod_stops_its_process_and_the_replacement_starts(
    cluster: Cluster, start_agent: Callable[..., AgentThread]
) -> None:
    pool = unique_pool()
    start_agent([node(pool)])
    cluster.apps.create_namespaced_deployment(cluster.namespace, deployment("web", pool))
    eventually(lambda: available(cluster, "web", 1), what="Deployment web Available")
    (first,) = ready_pods(cluster, "web")
    pid, uid = pid_of(first), first["metadata"]["uid"]
    assert process_alive(pid)

    cluster.core.delete_namespaced_pod(first["metadata"]["name"], cluster.namespace)

    eventually(lambda: not process_alive(pid), timeout_s=30, what=f"process {pid} gone")
    eventually(
        lambda: all(p["metadata"]["uid"] != uid for p in cluster.pods("web")), timeout_s=30, what="pod object removed"
    )
    (replacement,) = eventually(lambda: ready_pods(cluster, "web"), what="the replacement Ready")
    assert replacement["metadata"]["uid"] != uid
    assert process_alive(pid_of(replacement))


def stateful_set(name: str, pool: str, replicas: int) -> dict[str, Any]:
    """The web server as a StatefulSet shaped like a partitioned model's (render/workloads.py): parallel pods, each
    greeting with its ordinal variable, read from its own pod name."""
    template = deployment(name, pool, env=[ORDINAL_FROM_POD_NAME, {"name": "GREETING", "value": "$(EDGEOPS_ORDINAL)"}])
    spec = {k: v for k, v in template["spec"].items() if k != "strategy"}
    spec |= {"replicas": replicas, "podManagementPolicy": "Parallel", "updateStrategy": {"type": "RollingUpdate"}}
    return {**template, "kind": "StatefulSet", "spec": spec}


ORDINAL_FROM_POD_NAME = {"name": "EDGEOPS_ORDINAL", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}


def greetings(cluster: Cluster, app: str) -> dict[str, str]:
    """Pod name → what its process answers (its EDGEOPS_ORDINAL)."""
    return {p["metadata"]["name"]: get(f"http://127.0.0.1:{host_port(p, 8080)}/")[1] for p in ready_pods(cluster, app)}


def test_statefulset_pods_run_with_their_ordinal_names(
    cluster: Cluster, start_agent: Callable[..., AgentThread]
) -> None:
    pool = unique_pool()
    start_agent([node(pool)])
    cluster.apps.create_namespaced_stateful_set(cluster.namespace, stateful_set("web", pool, replicas=2))

    def healthy() -> bool:
        sts = api_dict(cluster.apps, cluster.apps.read_namespaced_stateful_set("web", cluster.namespace))
        return workload_problem(sts) is None  # how the reconciler judges its rollout

    eventually(healthy, what="StatefulSet web rolled out with 2 replicas")
    assert greetings(cluster, "web") == {"web-0": "web-0", "web-1": "web-1"}

    # A deleted pod comes back under its name (so with its ordinal), as a new pod with a new process.
    (old,) = [p for p in ready_pods(cluster, "web") if p["metadata"]["name"] == "web-1"]
    cluster.core.delete_namespaced_pod("web-1", cluster.namespace)
    eventually(lambda: not process_alive(pid_of(old)), timeout_s=30, what="web-1's process gone")

    def replaced() -> bool:
        pods = {p["metadata"]["name"]: p["metadata"]["uid"] for p in ready_pods(cluster, "web")}
        return pods.get("web-1") not in (None, old["metadata"]["uid"]) and "web-0" in pods

    eventually(replaced, what="web-1 back as a new pod")
    eventually(healthy, what="StatefulSet web healthy again")
    assert greetings(cluster, "web") == {"web-0": "web-0", "web-1": "web-1"}


def test_a_node_pool_change_moves_the_pods(cluster: Cluster, start_agent: Callable[..., AgentThread]) -> None:
    pool_a, pool_b = unique_pool(), unique_pool()
    start_agent([node(pool_a), node(pool_b)])
    cluster.apps.create_namespaced_deployment(cluster.namespace, deployment("web", pool_a, replicas=2))
    eventually(lambda: available(cluster, "web", 2), what="Deployment web Available on pool a")
    before = ready_pods(cluster, "web")
    assert {p["spec"]["nodeName"] for p in before} == {f"n-{pool_a}"}
    old_pids = [pid_of(p) for p in before]

    # What the renderer writes when the zone assigns the model to another node pool.
    patch = {"spec": {"template": {"spec": {"nodeSelector": {NODEPOOL_LABEL: pool_b}}}}}
    cluster.apps.patch_namespaced_deployment("web", cluster.namespace, patch)

    def moved() -> list[dict[str, Any]]:
        pods = cluster.pods("web")
        on_b = [p for p in ready_pods(cluster, "web") if p["spec"]["nodeName"] == f"n-{pool_b}"]
        return on_b if len(pods) == 2 and len(on_b) == 2 and available(cluster, "web", 2) else []

    after = eventually(moved, timeout_s=120, what="both pods Ready on pool b and the old ones gone")
    assert all(process_alive(pid_of(p)) for p in after)
    eventually(lambda: not any(process_alive(pid) for pid in old_pids), timeout_s=30, what="old processes gone")


def test_the_processes_of_a_killed_agent_are_found_and_stopped(
    cluster: Cluster, zone_env: LocalKube, tmp_path: Path
) -> None:
    pool = unique_pool()
    state = tmp_path / "agent-state"
    argv = [
        sys.executable, "-m", "reconciler.sandbox.agent", "run", "--kubeconfig", str(zone_env.kubeconfig),
        "--context", ZONE, "--state", str(state), "--node", f"n-{pool}=amd64,{pool}",
    ]  # fmt: skip
    log = (tmp_path / "agent.log").open("wb")
    agent = subprocess.Popen(argv, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    try:
        cluster.apps.create_namespaced_deployment(cluster.namespace, deployment("web", pool))
        eventually(lambda: available(cluster, "web", 1), what="Deployment web Available (agent as a process)")
        (pod,) = ready_pods(cluster, "web")
        pid = pid_of(pod)
        (record,) = read_records(state)
        assert record.pid == pid
        assert record.uid == pod["metadata"]["uid"]

        agent.kill()
        agent.wait(timeout=10)
        assert alive(record), "SIGKILL on the agent leaves its processes running"

        cleaned = subprocess.run(
            [sys.executable, "-m", "reconciler.sandbox.agent", "cleanup", "--state", str(state)],
            cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert cleaned.returncode == 0, cleaned.stderr
        assert "stopped 1 processes" in cleaned.stdout
        eventually(lambda: not process_alive(pid), timeout_s=10, what=f"process {pid} gone")
        assert read_records(state) == []
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.wait(timeout=10)
        kill_recorded(state)
        log.close()


def runtime_deployment(name: str, pool: str, config_map: str, models_dir: Path) -> dict[str, Any]:
    """The runtime's pod as the renderer writes it (command, NATS password from a Secret, metrics port, probes,
    config and state volumes), with the model directory a hostPath holding the built model instead of a pull."""
    container = {
        "name": "runtime",
        "image": "ghcr.io/edgeops/runtime:0.1.0",
        "command": ["edgeops", "serve", "--config", "/etc/edgeops/runtime.json"],
        "env": [
            {"name": "OTEL_SERVICE_NAME", "value": "edgeops-runtime"},
            {"name": "NATS_RUNTIME_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "nats-users", "key": "runtime"}}},
        ],
        "ports": [{"name": "metrics", "containerPort": 9464, "protocol": "TCP"}],
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "metrics"}, "periodSeconds": 1},
        "livenessProbe": {
            "httpGet": {"path": "/healthz", "port": "metrics"},
            "periodSeconds": 10,
            "initialDelaySeconds": 30,
        },
        "volumeMounts": [
            {"name": "config", "mountPath": "/etc/edgeops", "readOnly": True},
            {"name": "state", "mountPath": "/var/lib/edgeops"},
            {"name": "models", "mountPath": "/var/lib/edgeops/models"},
        ],
    }
    manifest = deployment(name, pool)
    manifest["spec"]["template"]["spec"].update(
        containers=[container],
        volumes=[
            {"name": "config", "configMap": {"name": config_map}},
            {"name": "state", "emptyDir": {}},
            {"name": "models", "hostPath": {"path": str(models_dir)}},
        ],
        terminationGracePeriodSeconds=20,
    )
    return manifest


async def test_the_runtime_image_runs_edgeops_serve_and_scores_records(
    cluster: Cluster, start_agent: Callable[..., AgentThread], nats_server: NatsServer, tmp_path: Path
) -> None:
    import nats

    model = "sensor-anomaly"
    _, digest, window = build_example_model(model, tmp_path / "models")
    config = {
        "zone": ZONE, "region": "local",
        "nats": {"url": "nats://nats.edgeops.svc:4222", "user": "runtime", "password_env": "NATS_RUNTIME_PASSWORD"},
        "models": [runtime_model(model, digest, window, input_subject="in.sensor")],
        "feature_store": {"path": "/var/lib/edgeops/features.duckdb", "flush_interval_ms": 100, "max_keys": 1000},
    }  # fmt: skip
    cluster.core.create_namespaced_config_map(
        cluster.namespace, {"metadata": {"name": "runtime"}, "data": {"runtime.json": json.dumps(config)}}
    )
    # The server in this test checks no password; the Secret is still what the container's env reads.
    cluster.core.create_namespaced_secret(
        cluster.namespace, {"metadata": {"name": "nats-users"}, "stringData": {"runtime": "not-checked"}}
    )
    nc = await nats.connect(nats_server.url)
    try:
        js = nc.jetstream()
        await setup_streams(js, durables={f"{model}-stable": "in.sensor"})
        pool = unique_pool()
        start_agent([node(pool)], services={"nats.edgeops.svc:4222": nats_server.url.removeprefix("nats://")})
        manifest = runtime_deployment("scorer", pool, "runtime", tmp_path / "models")
        cluster.apps.create_namespaced_deployment(cluster.namespace, manifest)

        await asyncio.to_thread(eventually, lambda: available(cluster, "scorer", 1), 120.0, "runtime Available")
        (pod,) = ready_pods(cluster, "scorer")
        port = host_port(pod, 9464)
        assert get(f"http://127.0.0.1:{port}/readyz")[0] == 200
        assert "edgeops_ready 1.0" in get(f"http://127.0.0.1:{port}/metrics")[1]

        await publish_records(js, "in.sensor", example_records(model, seed=3, count=40, keys=4), id_prefix="agent")
        await wait_for(lambda: results_at_least(js, "out.results", 40), 60, "results", lambda: "")
    finally:
        await nc.close()
