"""Nudged region loops: a merge applied within seconds, not at the next poll. Real zone kube-apiservers (shared
zones), a real nats-server as the region hub, the local GitHub with a bare remote, the bot's webhook service.

Matrix (loop interval 300 s, so only a nudge can explain a prompt pass):
- a commit pushed to main and announced by a signed push webhook → the bot publishes a nudge, the loop's listener
  takes it, and a Deployment appears in the zone within seconds; a second push removes it within seconds (prune);
  replaying the first delivery starts no pass;
- 20 nudges while a pass is held in its fetch → exactly one more pass (counted by the loop's pass metric, by
  trigger);
- a replica that does not hold the region's Lease takes nudges without passing; it passes once it leads;
- the hub down when the loop starts → the loop passes anyway; once the hub is up the listener subscribes; after a
  hub restart nudges reach the loop again; a listener still waiting for a hub that never came closes at once.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from reconciler.app.bot import make_server
from reconciler.app.gitops import Bot, publish_nudge, send_nudge
from reconciler.app.reconcile.leader import LeaderElector
from reconciler.app.reconcile.loop import LoopOptions, RegionLoop
from reconciler.app.reconcile.nudges import NudgeListener
from reconciler.app.reconcile.source import Fetched, RepoSource
from reconciler.app.reconcile.wiring import run_until_signalled
from reconciler.core.nats import Nudge, NudgeSource, encode_nudge, nudge_subject
from reconciler.core.plan import ZoneStatus
from reconciler.sandbox import free_port
from reconciler.shells.forge import Forge
from reconciler.shells.git import Workspace
from reconciler.shells.kube import ZoneClient
from reconciler.shells.nats import NatsClient, NatsEndpoint
from tests.fixtures.fleet_repo import ModelDef, ReconcileEnv, ZoneDef, write_fleet
from tests.fixtures.github import BOT_TOKEN, NAME, OWNER, GitHubFactory
from tests.fixtures.nats import NatsServer
from tests.support.webhooks import deliver

pytestmark = pytest.mark.integration
REGION, INTERVAL_S, PROMPT_S = "eu-west", 300.0, 15.0
SECRET = b"s3cret"


def _passes(loop: RegionLoop, trigger: str) -> float:
    value = loop.metrics.registry.get_sample_value(
        "edgeops_reconcile_passes_total", {"region": REGION, "trigger": trigger}
    )
    return value or 0.0


def _nudges(loop: RegionLoop) -> float:
    samples = loop.metrics.registry.collect()
    return sum(
        s.value for m in samples if m.name == "edgeops_reconcile_nudges" for s in m.samples if s.name.endswith("_total")
    )


def _leading(loop: RegionLoop) -> float | None:
    return loop.metrics.registry.get_sample_value("edgeops_reconcile_leader", {"region": REGION})


async def _until(done: Callable[[], bool], what: str, timeout_s: float = PROMPT_S) -> float:
    """Seconds until `done()`; fails after `timeout_s`."""
    started = time.monotonic()
    while not done():
        assert time.monotonic() - started < timeout_s, f"{what}: not within {timeout_s} s"
        await asyncio.sleep(0.05)
    return time.monotonic() - started


class HeldFetch:
    """`fetch` of a real repository that can be held at its start (a pass in flight) and counts its calls."""

    def __init__(self, fetch: Callable[[], Fetched]) -> None:
        self._fetch = fetch
        self.calls = 0
        self.open = threading.Event()
        self.open.set()
        self.entered = threading.Event()

    def __call__(self) -> Fetched:
        self.calls += 1
        self.entered.set()
        assert self.open.wait(timeout=60), "held for too long"
        return self._fetch()


@pytest.fixture
def hub(nats_server: NatsServer) -> NatsEndpoint:
    return NatsEndpoint(nats_server.url, timeout_s=2.0)


@pytest.fixture
def webhook_for(hub: NatsEndpoint) -> Iterator[Callable[[Bot], str]]:
    servers = []

    def start(bot: Bot) -> str:
        server = make_server(lambda: bot, SECRET, nudge=lambda sent: publish_nudge(hub, sent))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.timeout(300)
async def test_a_pushed_commit_announced_by_the_webhook_is_applied_within_seconds(
    reconcile_env: ReconcileEnv,
    hub: NatsEndpoint,
    github_factory: GitHubFactory,
    webhook_for: Callable[[Bot], str],
    tmp_path: Path,
) -> None:
    zone = f"n-{reconcile_env.suffix}"
    source = write_fleet(tmp_path / "source", REGION, [ZoneDef(zone, "zone-a", (ModelDef("sensor-anomaly"),))])
    zone_file = f"zones/{REGION}/{zone}.yaml"
    only_one = (source / zone_file).read_text()
    both = write_fleet(
        tmp_path / "both", REGION, [ZoneDef(zone, "zone-a", (ModelDef("sensor-anomaly"), ModelDef("fraud-scoring")))]
    )
    with_fraud = (both / zone_file).read_text()
    remote = github_factory(source)
    bot = Bot(
        Workspace.open_or_clone(str(remote.bare), tmp_path / "bot"), Forge(OWNER, NAME, url=remote.url, token=BOT_TOKEN)
    )
    url = webhook_for(bot)
    repo = RepoSource(str(remote.bare), tmp_path / "clone.git")
    loop = RegionLoop(repo.fetch, LoopOptions(REGION, interval_s=INTERVAL_S, region_options=reconcile_env.options()))
    listener = NudgeListener(hub, loop)
    listener.start()
    running = asyncio.create_task(loop.run())
    client = ZoneClient.connect(zone, "zone-a", reconcile_env.kubeconfig)

    def fraud_deployed() -> bool:
        return client.get("apps/v1", "Deployment", reconcile_env.namespace, "fraud-scoring") is not None

    try:
        await asyncio.wait_for(listener.ready.wait(), PROMPT_S)
        await _until(lambda: loop.passes == 1, "the first pass", 120)
        assert loop.results[zone].status is ZoneStatus.SYNCED, loop.results[zone].line()
        assert not fraud_deployed()

        added = remote.human_push("main", {zone_file: with_fraud}, "add fraud-scoring")
        push = {"ref": "refs/heads/main", "after": added}
        assert (await asyncio.to_thread(deliver, url, "push", push, secret=SECRET, delivery="d1"))[0] == 200
        # Within PROMPT_S (15 s) of the delivery, with a 300 s interval: only the nudge explains it.
        await _until(fraud_deployed, "the Deployment of the pushed commit")
        await _until(lambda: loop.passes == 2, "the pass to finish")
        assert loop.results[zone].revision == added

        removed = remote.human_push("main", {zone_file: only_one}, "remove fraud-scoring")
        push = {"ref": "refs/heads/main", "after": removed}
        assert (await asyncio.to_thread(deliver, url, "push", push, secret=SECRET, delivery="d2"))[0] == 200
        await _until(lambda: not fraud_deployed(), "the Deployment pruned")
        await _until(lambda: loop.passes == 3, "the pass to finish")

        replay = await asyncio.to_thread(deliver, url, "push", push, secret=SECRET, delivery="d2")
        assert replay == (200, "delivery d2 already handled: ignored")
        assert _passes(loop, "nudge") == 2
        assert _nudges(loop) == 2
        assert loop.passes == 3
    finally:
        loop.stop()
        await asyncio.wait_for(running, 60)
        await listener.close()


@pytest.mark.timeout(300)
async def test_twenty_nudges_during_a_pass_give_exactly_one_more_pass(
    reconcile_env: ReconcileEnv, hub: NatsEndpoint, tmp_path: Path
) -> None:
    from tests.fixtures.template_repo import commit_all

    remote = write_fleet(tmp_path / "remote", REGION, [ZoneDef(f"b-{reconcile_env.suffix}", "zone-b")])
    commit_all(remote)
    fetch = HeldFetch(RepoSource(str(remote), tmp_path / "clone.git").fetch)
    loop = RegionLoop(fetch, LoopOptions(REGION, interval_s=INTERVAL_S, region_options=reconcile_env.options()))
    listener = NudgeListener(hub, loop)
    listener.start()
    running = asyncio.create_task(loop.run())
    try:
        await asyncio.wait_for(listener.ready.wait(), PROMPT_S)
        await _until(lambda: loop.passes == 1, "the first pass", 120)

        fetch.open.clear()
        fetch.entered.clear()
        await send_nudge(hub, Nudge(why="start the held pass", source=NudgeSource.MANUAL), REGION)
        assert await asyncio.to_thread(fetch.entered.wait, PROMPT_S), "no pass started on the nudge"
        publisher = await NatsClient.connect(hub)
        for number in range(20):
            await publisher.publish(nudge_subject(REGION), encode_nudge(Nudge(why=f"burst {number}")))
        await publisher.drain()
        await _until(lambda: _nudges(loop) == 21, "every nudge received")
        fetch.open.set()

        await _until(lambda: loop.passes == 3, "the follow-up pass")
        # Had the burst queued more than one follow-up, it would start at once: give it the chance to show.
        await asyncio.sleep(1.0)
        assert loop.passes == 3
        assert fetch.calls == 3
        assert (_passes(loop, "start"), _passes(loop, "nudge"), _passes(loop, "interval")) == (1, 2, 0)
    finally:
        fetch.open.set()
        loop.stop()
        await asyncio.wait_for(running, 60)
        await listener.close()


@pytest.mark.timeout(180)
async def test_a_replica_without_the_lease_takes_nudges_without_passing(reconcile_env: ReconcileEnv) -> None:
    lease = f"edgeops-reconciler-{uuid.uuid4().hex[:8]}"
    client = ZoneClient.connect("lease", "zone-a", reconcile_env.kubeconfig)

    def elector(identity: str) -> LeaderElector:
        return LeaderElector(client, "kube-system", lease, identity, lease_duration_s=60.0, renew_deadline_s=40.0)

    holder = elector("holder")
    assert holder.try_acquire_or_renew()
    fetch = HeldFetch(lambda: Fetched(None, None, fresh=False, error="no repository in this test"))
    standby = RegionLoop(fetch, LoopOptions(REGION, interval_s=INTERVAL_S, lease_retry_s=0.2), elector("standby"))
    running = asyncio.create_task(standby.run())
    try:
        await _until(lambda: _leading(standby) == 0, "a first attempt at the Lease")
        for _ in range(5):
            standby.nudge(Nudge(source=NudgeSource.MANUAL))
        await asyncio.sleep(1.0)  # five Lease attempts: time enough for a wrongly started pass to show
        assert fetch.calls == 0
        assert _nudges(standby) == 5

        holder.release()
        await _until(lambda: fetch.calls == 1, "the first pass once leading")
        assert _leading(standby) == 1
    finally:
        standby.stop()
        await asyncio.wait_for(running, 60)
        client.delete("coordination.k8s.io/v1", "Lease", "kube-system", lease)


@pytest.mark.timeout(180)
async def test_the_loop_runs_while_the_hub_is_down_and_hears_nudges_once_it_is_back(
    nats_server_factory: Callable[..., NatsServer],
) -> None:
    hub_server = nats_server_factory("hub", start=False)
    hub = NatsEndpoint(hub_server.url, timeout_s=2.0)
    fetch = HeldFetch(lambda: Fetched(None, None, fresh=False, error="no repository in this test"))
    loop = RegionLoop(fetch, LoopOptions(REGION, interval_s=INTERVAL_S))
    listener = NudgeListener(hub, loop)
    listener.start()
    running = asyncio.create_task(loop.run())
    try:
        await _until(lambda: fetch.calls == 1, "a pass while the hub is down")
        assert not listener.ready.is_set()

        hub_server.start()
        await asyncio.wait_for(listener.ready.wait(), PROMPT_S)
        await send_nudge(hub, Nudge(), REGION)
        await _until(lambda: fetch.calls == 2, "a pass on the first nudge")

        hub_server.restart()
        await _nudge_until(hub, lambda: fetch.calls >= 3, "a pass on a nudge after the hub restarted")
    finally:
        loop.stop()
        await asyncio.wait_for(running, 60)
        await listener.close()


async def _nudge_until(hub: NatsEndpoint, done: Callable[[], bool], what: str) -> None:
    """Nudge every half second until `done()`: the listener resubscribes at its own pace after a restart."""
    started = time.monotonic()
    while not done():
        assert time.monotonic() - started < 30, f"{what}: not within 30 s"
        await send_nudge(hub, Nudge(source=NudgeSource.MANUAL), REGION)
        await asyncio.sleep(0.5)


async def test_a_listener_waiting_for_a_hub_that_never_comes_stops_with_the_loop() -> None:
    fetch = HeldFetch(lambda: Fetched(None, None, fresh=False, error="no repository in this test"))
    loop = RegionLoop(fetch, LoopOptions(REGION, interval_s=INTERVAL_S))
    nowhere = NatsEndpoint(f"nats://127.0.0.1:{free_port()}")
    running = asyncio.create_task(run_until_signalled(loop, nudge_hub=nowhere))
    await _until(lambda: fetch.calls == 1, "a pass without a hub")
    loop.stop()
    await asyncio.wait_for(running, 10)
