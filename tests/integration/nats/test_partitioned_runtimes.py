"""The partitioned ams-01 end to end from what edgeops renders: its zone server's config and JetStream assets on a
real nats-server, and two `edgeops serve` processes started from its rendered stable runtime.json with the ordinals
a StatefulSet gives (`EDGEOPS_ORDINAL` = the pod names fraud-scoring-0 and -1), logged in as the runtime user.

Matrix: 4,000 fraud-scoring records over 100 cards, published by the sensor user to `<input>.<card_id>`, end
with exactly one result per input in the zone's result stream, every score equal to one uninterrupted process's;
every partition consumer is fully acked; each replica's DuckDB file holds the windows of exactly the partitions
its ordinal owns, and every card's window is in one of them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reconciler.app.nats import NatsStatus, apply_nats
from reconciler.core.nats import naming
from reconciler.core.render import runtime_config
from reconciler.core.spec import Zone
from reconciler.sandbox import free_port
from runtime import FeatureStoreConfig, Track, WindowConfig
from runtime.store import FeatureStore
from tests.fixtures.edge_runtime import RuntimeProcess, build_example_model
from tests.fixtures.nats_fleet import NatsFleet
from tests.integration.nats.helpers import connect, wait_for
from tests.integration.runtime.helpers import (
    assert_scored_as_one_process,
    example_records,
    publish_records,
    read_all,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ZONE = "ams-01"
MODEL = "fraud-scoring"
N = 4_000


def without_canary(zone: Zone) -> Zone:
    """ams-01 with the stable version only: every record goes to the two stable replicas."""
    models = tuple(a.model_copy(update={"canary": None}) for a in zone.spec.models)
    return zone.model_copy(update={"spec": zone.spec.model_copy(update={"models": models})})


async def test_two_rendered_replicas_score_each_record_once_as_one_process(
    nats_fleet: NatsFleet, tmp_path: Path
) -> None:
    spec, zone = nats_fleet.spec, without_canary(nats_fleet.zone(ZONE))
    assignment = zone.spec.models[0]
    assert (assignment.replicas, assignment.partitions) == (2, 12)
    leaf = nats_fleet.leaves[ZONE]
    loaded_at = leaf.monitor("varz")["config_load_time"]
    result = await apply_nats(spec, zone, nats_fleet.endpoint(ZONE), revision="r1", server=nats_fleet.direct(ZONE))
    assert result.status is NatsStatus.READY, result.error
    assert leaf.monitor("varz")["config_load_time"] != loaded_at  # apply returns once the server reloaded

    rendered = runtime_config(spec, zone, assignment, spec.models[MODEL], track="stable", namespace="edgeops")
    deployment = rendered.models[0]
    assert deployment.partitions is not None
    assert (deployment.partitions.count, deployment.partitions.replicas) == (12, 2)
    procs = []
    for ordinal in range(2):
        work = tmp_path / f"{MODEL}-{ordinal}"
        model_path, digest, _ = build_example_model(MODEL, work / "models")
        assert digest == deployment.artifact.digest  # the example build is the template's pinned 1.0.0
        local = rendered.model_copy(
            update={
                "nats": rendered.nats.model_copy(update={"url": leaf.url}),
                "metrics_port": free_port(),
                "metrics_host": "127.0.0.1",
                "model_dir": str(work / "models"),
                "feature_store": FeatureStoreConfig(path=str(work / "state" / "features.duckdb")),
                "model_signing_keys": (),  # the file is placed, not pulled from a registry
            }
        )
        config_path = work / "runtime.json"
        config_path.write_text(local.model_dump_json(indent=2), encoding="utf-8")
        password = {naming.PASSWORD_ENV[naming.RUNTIME_USER]: nats_fleet.passwords[naming.RUNTIME_USER]}
        env = {deployment.partitions.ordinal_env: f"{MODEL}-{ordinal}", **password}  # a StatefulSet pod's name
        procs.append(RuntimeProcess(config_path, work / "runtime.log", env=env))

    window = WindowConfig.model_validate(deployment.window.model_dump(mode="json"), strict=False)
    records = example_records(MODEL, seed=31, count=N, keys=100)
    sensor = await connect(nats_fleet.endpoint(ZONE, naming.SENSOR_USER))
    admin = await connect(nats_fleet.endpoint(ZONE))
    stream = naming.input_stream(ZONE, MODEL)
    durables = [naming.partition_durable(MODEL, Track.STABLE, p) for p in range(12)]
    try:
        await publish_records(sensor.jetstream(), assignment.input, records, id_prefix="tx", key_field=window.key)
        jsm = admin.jsm()
        pending = [(await jsm.consumer_info(stream, d)).num_pending for d in durables]
        assert sum(pending) == N
        for proc in procs:
            proc.start(wait_ready=False)
        for proc in procs:
            proc.wait_ready()

        async def fully_acked() -> bool:
            for durable in durables:
                info = await jsm.consumer_info(stream, durable)
                if info.num_pending or info.num_ack_pending:
                    return False
            return True

        await wait_for(fully_acked, "every partition fully acked", timeout_s=240)
        for proc in procs:
            assert proc.terminate() == 0, proc.log_tail()

        results = await read_all(admin.jetstream(), naming.result_stream(ZONE), assignment.output, N)
    finally:
        await sensor.close()
        await admin.close()
        for proc in procs:
            proc.kill()
    assert_scored_as_one_process([json.loads(m.data) for m in results], model_path, window, records)

    # Each replica kept the windows of exactly the partitions its ordinal owns, and every key's window is whole.
    found: dict[str, tuple[list[int], list[Any]]] = {}
    for ordinal, proc in enumerate(procs):
        store = FeatureStore(proc.config_path.parent / "state" / "features.duckdb", max_keys=100_000)
        try:
            for p in range(12):
                windows = store.deployment(f"{MODEL}.stable.p{p}", window.size).windows
                assert (p % 2 == ordinal) or not windows, (ordinal, p)
                for key, w in windows.items():
                    assert key not in found, key
                    found[key] = (w.seqs, w.rows)
        finally:
            store.close()
    assert set(found) == {r[window.key] for r in records}
