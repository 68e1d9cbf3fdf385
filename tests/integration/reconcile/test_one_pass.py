"""`edgeops apply` and one pass of the region loop are the same region pass: over the same fleet, each into fresh
zones, they report the same zone results and write the same objects.

Matrix: one zone (two models, replicas 0) with NATS through the region hub; `edgeops apply --nats` (the command,
in process) into cluster zone-a, one `RegionLoop.run_pass()` (options as `edgeops reconcile` builds them) into
cluster zone-b. The zone's context has the same name in two kubeconfigs that point at different clusters, so
the fleet and its rendering are identical. The zone has one NATS server here, so its JetStream assets and the
hub's stream are removed between the passes: each pass starts from nothing. Compared: the command's output with
the loop's results printed the same way; every object of the namespace (and the namespace) minus what the API
server fills in (uid, resourceVersion, timestamps, managedFields, status, allocated cluster IPs); every stream's
and consumer's config, in the zone's domain and on the hub.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from reconciler.app.nats import NatsOptions
from reconciler.app.reconcile.loop import LoopOptions, RegionLoop
from reconciler.app.reconcile.source import Fetched
from reconciler.cli.main import app
from reconciler.core.nats.naming import js_api_prefix
from reconciler.core.plan import ZoneStatus, format_text
from reconciler.shells.kube import ZoneClient
from reconciler.shells.nats import JetStreamAdmin, NatsEndpoint
from tests.fixtures.fleet_repo import ModelDef, ReconcileEnv, ZoneDef
from tests.fixtures.kube import RENDERED_KINDS
from tests.fixtures.nats_fleet import NatsFleet
from tests.integration.nats.helpers import connect

pytestmark = pytest.mark.integration

ZONE = "ams-01"  # named like a NATS leaf of the fixture: its JetStream domain
CONTEXT = "the-zone"
SERVER_FILLED = ("uid", "resourceVersion", "creationTimestamp", "managedFields")


def _kubeconfig_for(source: Path, cluster: str, path: Path) -> Path:
    """A kubeconfig whose one context, `CONTEXT`, reaches `cluster` of the zone fixtures' kubeconfig."""
    document = json.loads(source.read_text())
    document["contexts"] = [{"name": CONTEXT, "context": {"cluster": cluster, "user": cluster}}]
    document["current-context"] = CONTEXT
    path.write_text(json.dumps(document))
    return path


def _without_server_fields(obj: dict[str, Any]) -> dict[str, Any]:
    obj = json.loads(json.dumps(obj))
    obj.pop("status", None)
    for key in SERVER_FILLED:
        obj["metadata"].pop(key, None)
    if obj["kind"] == "Service":
        for key in ("clusterIP", "clusterIPs"):
            obj["spec"].pop(key, None)
    return obj


def _objects(kubeconfig: Path, namespace: str) -> dict[str, dict[str, Any]]:
    client = ZoneClient.connect(ZONE, CONTEXT, kubeconfig)
    try:
        found = {
            f"{kind}/{item['metadata']['name']}": _without_server_fields(item)
            for api_version, kind in RENDERED_KINDS
            for item in client.list(api_version, kind, namespace)
        }
        ns = client.get("v1", "Namespace", "", namespace)
        assert ns is not None
        found["Namespace"] = _without_server_fields(ns)
        return found
    finally:
        client.close()


async def _jetstream(endpoint: NatsEndpoint) -> dict[str, object]:
    admin = await JetStreamAdmin.connect(endpoint)
    async with admin:
        live = await admin.read()
    return {
        "streams": sorted(json.dumps(s.config, sort_keys=True) for s in live.streams),
        "consumers": sorted((c.stream, json.dumps(c.config, sort_keys=True)) for c in live.consumers),
    }


async def _remove_jetstream(nats_fleet: NatsFleet) -> None:
    nc = await connect(nats_fleet.hub_endpoint())
    try:
        for jsm in (nc.jsm(prefix=js_api_prefix(ZONE)), nc.jsm()):
            for info in await jsm.streams_info():
                await jsm.delete_stream(info.config.name)
    finally:
        await nc.close()


@pytest.mark.timeout(300)
async def test_apply_command_and_a_loop_pass_report_and_write_the_same(
    reconcile_env: ReconcileEnv, nats_fleet: NatsFleet, tmp_path: Path
) -> None:
    load = reconcile_env.write([ZoneDef(ZONE, CONTEXT, models=(ModelDef(), ModelDef("fraud-scoring")))])
    assert load.spec is not None, load.problems
    by_command = _kubeconfig_for(reconcile_env.kubeconfig, "zone-a", tmp_path / "zone-a.kubeconfig")
    by_loop = _kubeconfig_for(reconcile_env.kubeconfig, "zone-b", tmp_path / "zone-b.kubeconfig")
    hub = nats_fleet.hub_endpoint()
    in_zone = dataclasses.replace(hub, domain=ZONE)

    command = await asyncio.to_thread(  # the command runs its own event loop
        CliRunner().invoke,
        app,
        [
            "apply",
            *("--region", reconcile_env.region, "--repo", str(reconcile_env.root)),
            *("--namespace", reconcile_env.namespace, "--kubeconfig", str(by_command)),
            *("--health-timeout", "60", "--nats", hub.url),
        ],
    )
    assert command.exit_code == 0, command.output
    written_by_command = (await _jetstream(in_zone), await _jetstream(hub))
    await _remove_jetstream(nats_fleet)

    options = LoopOptions(
        region=reconcile_env.region,
        region_options=dataclasses.replace(reconcile_env.options(), kubeconfig=by_loop, nats=NatsOptions(hub)),
    )
    loop = RegionLoop(lambda: Fetched("working-tree", load, fresh=True), options)
    results = await loop.run_pass()

    assert [r.status for r in results] == [ZoneStatus.SYNCED], [r.line() for r in results]
    nats_changes = dict(results[0].plan.systems)["nats"]
    assert nats_changes.pending, "the pass created the zone's JetStream assets"
    # The command printed exactly the loop's zone results, then each NATS outcome.
    zones = format_text([r.plan for r in results], diffs=False) + "".join(f"{r.line()}\n" for r in results)
    assert command.stdout.startswith(zones), (command.stdout, zones)
    assert command.stdout[len(zones) :].splitlines()[0] == f"nats {ZONE}: Ready ({nats_changes.summary()})"

    assert _objects(by_loop, reconcile_env.namespace) == _objects(by_command, reconcile_env.namespace)
    assert (await _jetstream(in_zone), await _jetstream(hub)) == written_by_command
