"""Shared steps of the runtime integration tests: publish example records, read results back, compute what an
uninterrupted run must produce (shared feature code + onnxruntime), and poll JetStream state."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import nats.errors
import numpy as np
import onnxruntime as ort

from runtime.config import WindowConfig
from runtime.features import Row, record_key, record_values, replay
from runtime.store import FeatureStore
from tests.fixtures.edge_runtime import RuntimeProcess, deployment, load_build_module, runtime_config


def example_records(model: str, seed: int, count: int, keys: int) -> list[dict[str, Any]]:
    """`count` records of the example model's generator, interleaved across `keys` keys."""
    module = load_build_module(model)
    per_key = max(count // keys + 2, 2)
    records, _ = module.generate(seed, keys, (per_key, per_key + 1))
    by_key: dict[str, list[dict[str, Any]]] = {}
    key_field = module.WINDOW.key
    for record in records:
        by_key.setdefault(record[key_field], []).append(record)
    interleaved = [r for group in zip(*by_key.values(), strict=False) for r in group]
    return interleaved[:count]


async def publish_records(
    js: Any, subject: str, records: list[dict[str, Any]], id_prefix: str = "m", key_field: str | None = None,
    *, first_id: int = 0,
) -> None:  # fmt: skip
    """Publish with ids `<id_prefix>-<i>` (i from `first_id`); with `key_field`, each on `<subject>.<its key>` (a
    partitioned input)."""
    futures = []
    for i, record in enumerate(records, start=first_id):
        headers = {"Nats-Msg-Id": f"{id_prefix}-{i}", "Edgeops-Sensor-Ts": repr(time.time())}
        to = subject if key_field is None else f"{subject}.{record[key_field]}"
        futures.append(await js.publish_async(to, json.dumps(record).encode(), headers=headers))
        if len(futures) >= 2000:
            await asyncio.gather(*futures)
            futures = []
    await asyncio.gather(*futures)


def expected_scores(model_path: Path, window: WindowConfig, records: list[dict[str, Any]]) -> np.ndarray:
    session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    features = np.asarray(replay(window, records), dtype=np.float32)
    (scores,) = session.run(["score"], {"features": features})
    return np.asarray(scores[:, 0])


def assert_scored_as_one_process(
    bodies: list[dict[str, Any]], model_path: Path, window: WindowConfig, records: list[dict[str, Any]]
) -> None:
    """Exactly one result per record (published as `tx-<i>`), each scored as one uninterrupted process would."""
    assert len(bodies) == len(records)
    assert {b["input_id"] for b in bodies} == {f"tx-{i}" for i in range(len(records))}
    got = np.asarray([b["score"] for b in sorted(bodies, key=lambda b: int(b["input_id"].split("-")[1]))])
    np.testing.assert_allclose(got, expected_scores(model_path, window, records), atol=1e-5, rtol=1e-4)


async def assert_one_result_each(
    js: Any, model_path: Path, window: WindowConfig, records: list[dict[str, Any]]
) -> None:
    """`assert_scored_as_one_process` over what stream OUT holds on `out.results`, and no dead letter."""
    results = await read_all(js, "OUT", "out.results", len(records))
    assert_scored_as_one_process([json.loads(m.data) for m in results], model_path, window, records)
    assert await subject_count(js, "OUT", "out.dlq") == 0


def expected_windows(window: WindowConfig, records: list[dict[str, Any]]) -> dict[str, tuple[list[int], list[Row]]]:
    """Final window per key when record i has stream sequence i + 1."""
    out: dict[str, tuple[list[int], list[Row]]] = {}
    for seq, record in enumerate(records, start=1):
        seqs, rows = out.setdefault(record_key(window, record), ([], []))
        seqs.append(seq)
        rows.append(record_values(window, record))
        del seqs[: -window.size], rows[: -window.size]
    return out


def assert_windows_equal(db_path: Path, deployment: str, window: WindowConfig, records: list[dict[str, Any]]) -> None:
    """What a restarted runtime restores from DuckDB equals the windows of an uninterrupted run."""
    expected = expected_windows(window, records)
    store = FeatureStore(db_path, max_keys=100_000)
    try:
        restored = store.deployment(deployment, window.size).windows
        assert restored.keys() == expected.keys()
        for key, restored_window in restored.items():
            assert (restored_window.seqs, restored_window.rows) == expected[key], key
    finally:
        store.close()


async def read_all(js: Any, stream: str, subject: str, expect_at_least: int, within_s: float = 60) -> list[Any]:
    """Every message on `subject` in `stream`, read with an ephemeral pull consumer."""
    psub = await js.pull_subscribe(subject, stream=stream)
    out: list[Any] = []
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            batch = await psub.fetch(1000, timeout=1)
        except TimeoutError:
            if len(out) >= expect_at_least:
                break
            continue
        for msg in batch:
            out.append(msg)
            await msg.ack()
    await psub.unsubscribe()
    return out


async def subject_count(js: Any, stream: str, subject: str) -> int:
    info = await js.stream_info(stream, subjects_filter=subject)
    return int((info.state.subjects or {}).get(subject, 0))


async def results_at_least(js: Any, subject: str, count: int) -> bool:
    """Whether the OUT stream holds `count` or more messages on `subject` (a `wait_for` condition)."""
    return await subject_count(js, "OUT", subject) >= count


async def wait_for(
    condition: Callable[[], Awaitable[bool]], within_s: float, what: str, on_fail: Callable[[], str] = lambda: ""
) -> None:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            if await condition():
                return
        except (nats.errors.Error, TimeoutError):  # the server may be restarting: ask again
            pass
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out after {within_s}s waiting for {what}\n{on_fail()}")


def partitioned_replica(
    workdir: Path, ordinal: int, nats_url: str, *, model: str, digest: str, window: dict[str, Any],
    partitions: dict[str, Any],
) -> RuntimeProcess:  # fmt: skip
    """Replica `ordinal` of a partitioned deployment on input `in.tx` (`rt-<ordinal>` in `$EDGEOPS_ORDINAL`), with
    its own directory `<workdir>/replica-<ordinal>` (models, `state/features.duckdb`, runtime.json, log)."""
    from tests.fixtures.edge_runtime import build_example_model

    work = workdir / f"replica-{ordinal}"
    proc = RuntimeProcess(work / "runtime.json", work / "runtime.log", env={"EDGEOPS_ORDINAL": f"rt-{ordinal}"})
    build_example_model(model, work / "models")
    state = {"stream": "STATE", "subject": f"state.{model}.stable", "flush_interval_ms": 200}
    doc = runtime_config(proc.config_path, nats_url,
                         [deployment(model, digest, window, input_subject="in.tx", state=state,
                                     partitions=partitions)], work)  # fmt: skip
    doc["feature_store"]["path"] = str(work / "state" / "features.duckdb")
    proc.config_path.write_text(json.dumps(doc))
    return proc


def set_replicas(proc: RuntimeProcess, replicas: int) -> None:
    """Rewrite the replica's runtime.json with `partitions.replicas` changed, in one rename (as a ConfigMap is)."""
    doc = json.loads(proc.config_path.read_text())
    for model in doc["models"]:
        model["partitions"]["replicas"] = replicas
    staged = proc.config_path.with_name("runtime.json.new")
    staged.write_text(json.dumps(doc))
    staged.replace(proc.config_path)


async def partitions_acked(js: Any, stream: str, durables: list[str]) -> bool:
    """Whether every durable has nothing pending and nothing unacknowledged (a `wait_for` condition)."""
    for durable in durables:
        info = await js.consumer_info(stream, durable)
        if info.num_pending or info.num_ack_pending:
            return False
    return True


def held_leases(proc: RuntimeProcess) -> set[str]:
    """The units whose partition lease the process holds now, from its /metrics."""
    try:
        status, text = proc.http("/metrics")
    except OSError:  # not listening yet
        return set()
    if status != 200:
        return set()
    held = re.findall(r'^edgeops_partition_lease_held\{unit="([^"]+)"\} 1\.0$', text, re.MULTILINE)
    return set(held)
