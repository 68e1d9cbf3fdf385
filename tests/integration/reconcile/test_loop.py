"""The region loop against real zone API servers and a real git repository.

Matrix: a stopped zone apiserver -> that zone Unreachable (and backed off) while the other reaches Synced, and it
converges once restarted; two replicas sharing a Lease -> exactly one acts, and the other takes over when the
leader stops gracefully; the repository -> fetched with pygit2, an invalid commit applies nothing, an unreachable
remote keeps the last good commit; a paused zone read from the repository keeps the commit it was last reconciled to
and takes only the branch's rollbacks until it is resumed; `/metrics` reports zone status and pass duration after a pass, and spans
nest pass > zone > stage.
"""

from __future__ import annotations

import asyncio
import shutil
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from reconciler.app.reconcile import ApplyOptions, RegionOptions, read_inventory
from reconciler.app.reconcile.leader import LeaderElector
from reconciler.app.reconcile.loop import LoopOptions, RegionLoop
from reconciler.app.reconcile.source import Fetched, RepoSource
from reconciler.core.plan import ZoneStatus
from reconciler.core.render import RenderOptions
from reconciler.sandbox.localkube import LocalKube
from reconciler.shells.kube import ZoneClient
from tests.fixtures.fleet_repo import ModelDef, ReconcileEnv, ZoneDef, write_fleet
from tests.fixtures.template_repo import commit_all

pytestmark = pytest.mark.integration


def _fixed(load: object) -> Fetched:
    from reconciler.core.load import LoadResult

    assert isinstance(load, LoadResult)
    return Fetched(load.revision or "working-tree", load, fresh=True)


def _loop(env: ReconcileEnv | None, load: object, options: RegionOptions, **loop: float) -> RegionLoop:
    loop.setdefault("interval_s", 0.2)
    return RegionLoop(lambda: _fixed(load), LoopOptions(region="eu-west", region_options=options, **loop))  # type: ignore[arg-type]


async def test_unreachable_zone_is_backed_off_while_others_sync_and_converges_after_restart(
    kube_factory: object, tmp_path: Path
) -> None:
    from tests.fixtures.kube import KubeFactory

    assert isinstance(kube_factory, KubeFactory)
    kube: LocalKube = kube_factory(["up-a", "up-b"])
    root = write_fleet(tmp_path / "fleet", "eu-west", [ZoneDef("za", "up-a"), ZoneDef("zb", "up-b")])
    from reconciler.app.desired import load_desired

    load = load_desired(root)
    options = RegionOptions(
        kubeconfig=kube.kubeconfig,
        render=RenderOptions(namespace="edgeops"),
        apply=ApplyOptions(health_timeout_s=60, poll_s=0.5),
    )
    loop = _loop(None, load, options, backoff_base_s=1.0, backoff_cap_s=4.0)
    kube.zone("up-b").stop()

    first = {r.zone: r.status for r in await loop.run_pass()}
    assert first == {"za": ZoneStatus.SYNCED, "zb": ZoneStatus.UNREACHABLE}
    # Right away, the unreachable zone is not due yet: only the healthy one is visited.
    second = {r.zone: r.status for r in await loop.run_pass()}
    assert second == {"za": ZoneStatus.SYNCED}
    assert loop.backoff.failures["zb"] == 1

    kube.zone("up-b").start()
    deadline = time.monotonic() + 90
    while loop.results["zb"].status is not ZoneStatus.SYNCED:
        assert time.monotonic() < deadline, loop.results["zb"].line()
        await loop.run_pass()
        await asyncio.sleep(0.5)
    assert loop.results["za"].status is ZoneStatus.SYNCED
    assert "zb" not in loop.backoff.failures


async def test_two_replicas_one_leader(reconcile_env: ReconcileEnv) -> None:
    load = reconcile_env.write([ZoneDef(f"a-{reconcile_env.suffix}", "zone-a")])
    lease = f"edgeops-reconciler-{uuid.uuid4().hex[:8]}"

    def replica(identity: str) -> RegionLoop:
        client = ZoneClient.connect("lease", "zone-a", reconcile_env.kubeconfig)
        elector = LeaderElector(client, "kube-system", lease, identity, lease_duration_s=10.0, renew_deadline_s=7.0)
        options = LoopOptions(
            region="eu-west", interval_s=0.3, region_options=reconcile_env.options(), lease_retry_s=0.3
        )
        return RegionLoop(lambda: _fixed(load), options, elector)

    first, second = replica("replica-1"), replica("replica-2")
    tasks = [asyncio.create_task(first.run()), asyncio.create_task(second.run())]
    deadline = time.monotonic() + 60
    while first.passes + second.passes < 3:
        assert time.monotonic() < deadline, "no replica became leader"
        await asyncio.sleep(0.2)
    leader, standby = (first, second) if first.passes else (second, first)
    assert standby.passes == 0
    assert leader.elector is not None
    assert leader.elector.is_leader
    holder = ZoneClient.connect("lease", "zone-a", reconcile_env.kubeconfig).get(
        "coordination.k8s.io/v1", "Lease", "kube-system", lease
    )
    assert holder is not None
    assert holder["spec"]["holderIdentity"] == leader.elector.identity

    leader.stop()  # graceful: releases the Lease
    deadline = time.monotonic() + 60
    while standby.passes == 0:
        assert time.monotonic() < deadline, "the standby never took over"
        await asyncio.sleep(0.2)
    passes_after_stop = leader.passes
    await asyncio.sleep(1.0)
    assert leader.passes == passes_after_stop
    standby.stop()
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=60)
    ZoneClient.connect("lease", "zone-a", reconcile_env.kubeconfig).delete(
        "coordination.k8s.io/v1", "Lease", "kube-system", lease
    )


def test_repository_source_fetches_and_keeps_the_last_good_commit(tmp_path: Path) -> None:
    remote = tmp_path / "remote"
    write_fleet(remote, "eu-west", [ZoneDef("za", "zone-a")])
    good = commit_all(remote, "fleet")
    source = RepoSource(str(remote), tmp_path / "clone.git")

    fetched = source.fetch()
    assert fetched.revision == good
    assert fetched.fresh
    assert fetched.load is not None
    assert fetched.load.spec is not None

    write_fleet(remote, "eu-west", [ZoneDef("za", "zone-a", (ModelDef("no-such-model"),))])
    bad = commit_all(remote, "broken")
    invalid = source.fetch()
    assert invalid.revision == bad
    assert invalid.load is not None
    assert invalid.load.spec is None

    shutil.move(remote, tmp_path / "gone")
    stale = source.fetch()
    assert not stale.fresh
    assert stale.revision == good  # the last good commit, not the broken one
    assert stale.error


async def test_a_paused_zone_takes_only_rollbacks_from_the_repository(
    reconcile_env: ReconcileEnv, tmp_path: Path
) -> None:
    env = reconcile_env
    zone, client = f"za-{env.suffix}", ZoneClient.connect("zone-a", "zone-a", env.kubeconfig)

    def commit(replicas: int, canary: str | None, *, paused: bool) -> str:
        model = ModelDef("fraud-scoring", "1.0.0", replicas, canary)
        write_fleet(env.root, env.region, [ZoneDef(zone, "zone-a", (model,), paused=paused)])
        return commit_all(env.root, f"replicas {replicas}, canary {canary}, paused {paused}")

    def state() -> tuple[int, set[str]]:
        stable = client.get("apps/v1", "Deployment", env.namespace, "fraud-scoring")
        assert stable is not None
        names = {d["metadata"]["name"] for d in client.list("apps/v1", "Deployment", env.namespace)}
        return int(stable["spec"]["replicas"]), names

    def routes_to_canary() -> bool:
        """Whether the zone's NATS server config (the HelmChart's values) still maps traffic to a canary."""
        (chart,) = client.list("helm.cattle.io/v1", "HelmChart", env.namespace)
        lines = chart["spec"]["valuesContent"].splitlines()
        return any("destination:" in line and ".canary." in line for line in lines)

    source = RepoSource(str(env.root), tmp_path / "clone.git")
    options = LoopOptions(region=env.region, region_options=env.options(health_timeout_s=0.0))
    loop = RegionLoop(source.fetch, options)
    first = commit(0, "1.1.0", paused=False)
    await loop.run_pass()
    assert state() == (0, {"fraud-scoring", "fraud-scoring-canary"})
    assert routes_to_canary()

    # Paused, with an edit beside it: nothing changes.
    commit(1, "1.1.0", paused=True)
    (held,) = await loop.run_pass()
    assert f"paused at {first[:12]}" in held.message, held.line()
    assert (held.applied, held.pruned) == (0, 0), held.line()
    assert state() == (0, {"fraud-scoring", "fraud-scoring-canary"})

    # The canary is rolled back on the branch: it leaves the paused zone, the edit still waits.
    rollback = commit(1, None, paused=True)
    (rolled,) = await loop.run_pass()
    assert rolled.revision == rollback
    assert rolled.pruned >= 1, rolled.line()
    assert state() == (0, {"fraud-scoring"})
    assert not routes_to_canary()  # the NATS weights follow the rollback too
    inventory = read_inventory(client, env.namespace)
    assert (inventory.revision, inventory.basis) == (rollback, first)

    # Resumed: the zone follows the branch again, and its inventory forgets the basis.
    resumed = commit(1, None, paused=False)
    (done,) = await loop.run_pass()
    assert "paused" not in done.message, done.line()
    assert state() == (1, {"fraud-scoring"})
    inventory = read_inventory(client, env.namespace)
    assert (inventory.revision, inventory.basis) == (resumed, None)


def _scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        return str(response.read().decode())


async def test_metrics_endpoint_and_spans_per_zone_and_stage(reconcile_env: ReconcileEnv) -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from reconciler.app.reconcile.telemetry import Spans

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    load = reconcile_env.write([ZoneDef(f"b-{reconcile_env.suffix}", "zone-b")])
    options = LoopOptions(region="eu-west", interval_s=0.2, region_options=reconcile_env.options())
    loop = RegionLoop(lambda: _fixed(load), options, spans=Spans(provider))
    server = loop.metrics.serve(0)
    try:
        await loop.run_pass()
        body = await asyncio.to_thread(_scrape, server.server_port)
    finally:
        server.shutdown()
        server.server_close()
    zone = f"b-{reconcile_env.suffix}"
    assert f'edgeops_zone_status{{region="eu-west",status="Synced",zone="{zone}"}} 1.0' in body
    assert f'edgeops_zone_status{{region="eu-west",status="Unreachable",zone="{zone}"}} 0.0' in body
    assert 'edgeops_reconcile_pass_duration_seconds_count{region="eu-west"} 1.0' in body
    assert f'edgeops_reconcile_objects_applied_total{{region="eu-west",zone="{zone}"}}' in body

    spans = {s.name: s for s in exporter.get_finished_spans()}
    assert {
        "reconcile pass",
        "reconcile zone",
        "stage plan",
        "stage apply:foundation",
        "stage apply:config",
        "stage apply:workload",
        "stage prune",
        "stage health",
    } <= set(spans)
    zone_span, pass_span = spans["reconcile zone"], spans["reconcile pass"]
    assert zone_span.attributes is not None
    assert zone_span.attributes["edgeops.zone"] == zone
    assert zone_span.parent is not None
    assert pass_span.context is not None
    assert zone_span.parent.span_id == pass_span.context.span_id
    assert spans["stage health"].parent is not None
    assert zone_span.context is not None
    assert spans["stage health"].parent.span_id == zone_span.context.span_id
    provider.shutdown()
