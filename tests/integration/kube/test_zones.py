"""Several zones at once: the shared three, and a zone of its own that goes down and comes back.

Matrix: three zones run concurrently, each reports the pinned Kubernetes version; the same object name holds
different data per zone and an object created in one zone is absent from the others; each zone has its own CA,
so one zone's admin credentials are refused by another; the kubeconfig has one context per zone; a zone whose
apiserver stops is unreachable, and after start() it serves the same objects from the same storage; a SQLite
zone closed entirely and started again on the same directory still has its objects (the sandbox's mode).
"""

from __future__ import annotations

import ssl
import uuid
from pathlib import Path

import pytest
import urllib3
from kubernetes import client, config

from reconciler.sandbox.localkube import LocalKube, ZoneOptions
from tests.fixtures.kube import KUBE_ZONES, KubeFactory, admin_client

pytestmark = pytest.mark.integration

_VERSIONS_ENV = Path(__file__).resolve().parents[2] / "env" / "kube" / "versions.env"


def _pinned_kube_version() -> str:
    for line in _VERSIONS_ENV.read_text().splitlines():
        if line.startswith("KUBE_VERSION="):
            return line.split("=", 1)[1].strip()
    raise AssertionError(f"no KUBE_VERSION in {_VERSIONS_ENV}")


def test_three_zones_serve_the_pinned_version(kube_zones: LocalKube) -> None:
    contexts, _ = config.list_kube_config_contexts(config_file=str(kube_zones.kubeconfig))
    assert sorted(c["name"] for c in contexts) == sorted(KUBE_ZONES)
    servers = {kube_zones.zone(name).server for name in KUBE_ZONES}
    assert len(servers) == 3
    for name in KUBE_ZONES:
        version = client.VersionApi(admin_client(kube_zones, name)).get_code()
        assert version.git_version == _pinned_kube_version()


def test_zones_do_not_share_objects(kube_zones: LocalKube, kube_namespace: str) -> None:
    cores = {name: client.CoreV1Api(admin_client(kube_zones, name)) for name in KUBE_ZONES}
    for name, core in cores.items():
        core.create_namespaced_config_map(
            kube_namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="zone-identity"), data={"zone": name})
        )
    only_in_a = f"only-{uuid.uuid4().hex[:8]}"
    cores["zone-a"].create_namespaced_config_map(
        kube_namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name=only_in_a))
    )

    for name, core in cores.items():
        assert core.read_namespaced_config_map("zone-identity", kube_namespace).data == {"zone": name}
        names = {cm.metadata.name for cm in core.list_namespaced_config_map(kube_namespace).items}
        assert (only_in_a in names) == (name == "zone-a")


def test_a_zone_refuses_another_zones_credentials(kube_zones: LocalKube) -> None:
    zone_a, zone_b = kube_zones.zone("zone-a"), kube_zones.zone("zone-b")
    pool = urllib3.PoolManager(
        ca_certs=str(zone_a.pki.ca_cert),
        cert_file=str(zone_a.pki.admin_cert),
        key_file=str(zone_a.pki.admin_key),
        retries=False,
    )
    # zone-b's serving certificate is signed by zone-b's CA, which zone-a's clients do not trust.
    with pytest.raises(urllib3.exceptions.SSLError):
        pool.request("GET", f"{zone_b.server}/version")
    # Trusting zone-b's CA but presenting zone-a's client certificate: authenticated as nobody.
    context = ssl.create_default_context(cafile=str(zone_b.pki.ca_cert))
    context.load_cert_chain(str(zone_a.pki.admin_cert), str(zone_a.pki.admin_key))
    reply = urllib3.PoolManager(ssl_context=context, retries=False).request("GET", f"{zone_b.server}/api/v1/namespaces")
    assert reply.status in (401, 403)


def test_stopped_zone_is_unreachable_then_serves_its_storage_again(kube_factory: KubeFactory) -> None:
    env = kube_factory(["restart"], ZoneOptions(controllers=False))
    zone = env.zone("restart")
    core = client.CoreV1Api(admin_client(env, "restart"))
    kept = core.create_namespaced_config_map(
        "default", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="kept"), data={"v": "1"})
    )

    zone.stop()
    unreachable = client.CoreV1Api(admin_client(env, "restart"))
    with pytest.raises(urllib3.exceptions.HTTPError):
        unreachable.read_namespaced_config_map("kept", "default", _request_timeout=5)

    zone.start()
    again = client.CoreV1Api(admin_client(env, "restart")).read_namespaced_config_map("kept", "default")
    assert again.data == {"v": "1"}
    assert again.metadata.resource_version == kept.metadata.resource_version


def test_sqlite_zone_keeps_its_objects_across_a_full_restart(kube_factory: KubeFactory, tmp_path: Path) -> None:
    workdir, options = tmp_path / "sandbox", ZoneOptions(storage="sqlite", controllers=False)
    first = kube_factory(["sandbox"], options, workdir=workdir)
    client.CoreV1Api(admin_client(first, "sandbox")).create_namespaced_config_map(
        "default", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="persisted"), data={"v": "1"})
    )
    first.close()
    assert not any(p.running for p in first.zone("sandbox").processes.values())

    second = kube_factory(["sandbox"], options, workdir=workdir)
    persisted = client.CoreV1Api(admin_client(second, "sandbox")).read_namespaced_config_map("persisted", "default")
    assert persisted.data == {"v": "1"}
