"""Canary routing cost and accuracy on a real zone nats-server run from the config edgeops renders.

    python benchmarks/nats_routing.py [--messages 20000] [--repeat 3]

One zone server (ams-01 of the template fleet: fraud-scoring with a live 10 % canary), JetStream assets applied by
edgeops. Measured, median of `--repeat`:

- baseline: the reconciler user publishes `--messages` acked messages (publish_async, Nats-Msg-Id) into a plain
  file stream without mapping, consumers or permissions
- edgeops route: the sensor user publishes the same number to the model's input subject: permission check,
  weighted mapping, input stream with interest retention, dedupe window and the stable and canary consumers
- the canary share observed (target 10 %)
- apply passes: first apply (creates 5 assets) and a no-change apply (reads and compares only)

Writes benchmarks/results/nats-routing.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(_REPO))

import nats  # noqa: E402

from benchmarks.machine import machine  # noqa: E402
from reconciler.app.desired import load_desired  # noqa: E402
from reconciler.app.nats import apply_nats  # noqa: E402
from reconciler.core.nats import ServerSettings, naming, render_conf, server_config  # noqa: E402
from reconciler.sandbox import free_port  # noqa: E402
from reconciler.shells.nats import JetStreamAdmin, NatsEndpoint  # noqa: E402
from tests.fixtures.nats_fleet import RenderedNatsServer  # noqa: E402

_RESULT = _REPO / "benchmarks" / "results" / "nats-routing.md"
INPUT = "payments.ams-01.tx"
STREAM = "input-ams-01-fraud-scoring"


async def publish(nc: Any, subject: str, count: int, tag: str) -> float:
    js = nc.jetstream(publish_async_max_pending=2000)
    start = time.perf_counter()
    for base in range(0, count, 1000):
        futures = [
            await js.publish_async(subject, b'{"v":1}', headers={"Nats-Msg-Id": f"{tag}-{i}"})
            for i in range(base, min(base + 1000, count))
        ]
        await asyncio.gather(*futures)
    return count / (time.perf_counter() - start)


async def run(messages: int, repeat: int) -> dict[str, Any]:
    passwords = {user: secrets.token_hex(8) for user in naming.PASSWORD_ENV}
    for user, env in naming.PASSWORD_ENV.items():
        os.environ[env] = passwords[user]
    spec = load_desired(_REPO).spec
    assert spec is not None
    zone = spec.zone("ams-01")
    assert zone is not None
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp) / "ams-01"
        workdir.mkdir()
        settings = ServerSettings(
            host="127.0.0.1",
            port=free_port(),
            monitor_port=free_port(),
            store_dir=str(workdir / "js"),
            max_file_store="64G",
        )
        server = RenderedNatsServer(
            workdir,
            port=settings.port,
            monitor_port=settings.monitor_port,
            config_text=render_conf(server_config(spec, zone, settings)),
            settings=settings,
        )
        server.start()
        try:
            admin_ep = NatsEndpoint(server.url, user="reconciler", password=passwords["reconciler"])
            start = time.perf_counter()
            await apply_nats(spec, zone, admin_ep, revision="bench")
            first_apply = time.perf_counter() - start
            noop = []
            for _ in range(repeat):
                start = time.perf_counter()
                result = await apply_nats(spec, zone, admin_ep, revision="bench")
                noop.append(time.perf_counter() - start)
                assert not result.changes.pending
            admin = await nats.connect(server.url, user="reconciler", password=passwords["reconciler"])
            sensor = await nats.connect(server.url, user="sensor", password=passwords["sensor"])
            await admin.jsm().add_stream(name="bench-plain", subjects=["bench.plain"], duplicate_window=120.0)
            base, routed, shares = [], [], []
            for round_ in range(repeat):
                base.append(await publish(admin, "bench.plain", messages, f"b{round_}"))
                before = (await admin.jsm().stream_info(STREAM, subjects_filter=">")).state.subjects or {}
                routed.append(await publish(sensor, INPUT, messages, f"r{round_}"))
                after = (await admin.jsm().stream_info(STREAM, subjects_filter=">")).state.subjects or {}
                canary = after.get(f"{INPUT}.canary.live", 0) - before.get(f"{INPUT}.canary.live", 0)
                shares.append(100 * canary / messages)
            await sensor.close()
            await admin.close()
            async with await JetStreamAdmin.connect(admin_ep) as jsa:
                assert (await jsa.read()).streams
        finally:
            server.stop()
    return {
        "first_apply": first_apply,
        "noop_apply": statistics.median(noop),
        "base": statistics.median(base),
        "routed": statistics.median(routed),
        "shares": shares,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    where = machine(with_load=True)
    r = asyncio.run(run(args.messages, args.repeat))
    ratio = r["routed"] / r["base"]
    shares = ", ".join(f"{s:.2f} %" for s in r["shares"])
    lines = [
        "# NATS canary routing: cost and accuracy",
        "",
        f"Machine: {where}. nats-server 2.15 (venv), nats-py; `python benchmarks/nats_routing.py "
        f"--messages {args.messages} --repeat {args.repeat}`; medians.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| baseline: acked publishes into a plain stream | {r['base']:,.0f} msg/s |",
        f"| edgeops route: sensor → permission → 90/10 mapping → input stream (2 consumers) | {r['routed']:,.0f} msg/s |",
        f"| ratio edgeops route / baseline | {ratio:.2f} |",
        f"| canary share per round (target 10 %, {args.messages:,} messages each) | {shares} |",
        f"| first apply (5 assets created) | {r['first_apply'] * 1000:.0f} ms |",
        f"| no-change apply (read + compare, nothing written) | {r['noop_apply'] * 1000:.0f} ms |",
        "",
    ]
    _RESULT.parent.mkdir(parents=True, exist_ok=True)
    _RESULT.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
