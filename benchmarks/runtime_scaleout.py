"""Scale-out by key: `edgeops serve` with `partitions` on 1 replica against 2 replicas, on loopback.

    python benchmarks/runtime_scaleout.py [--seconds 6] [--rounds 5] [--rates 1000,1500,...] [--partitions 6]
                                          [--backlog 20000] [--drains 6]

The input is partitioned as a zone renders it: sensors publish `in.<setup>.<key>` (the window key as the last
token), nats-server's mapping sends each record to `in.<setup>.p.{{partition(P,1)}}.<key>`, and each partition
has its own durable consumer. Two setups share the server and the generator: one runtime process owning all P
partitions, and two processes (ordinals 0 and 1) owning the even and the odd ones. Records are interleaved over
1,000 cards, each card's transactions in order. Per round, alternating the setups so that load from elsewhere hits
both alike: latency at 1,000 msg/s, the CPU time per message of every runtime process of the setup (their
checkpoint writers included), and a ramp to the highest rate at which >= 99% of the records got a result within
2 s of the step's end with p95 < 50 ms. Then a backlog: records stored while the setup's processes are stopped,
drained at full speed, by both replicas at once and by one replica at a time. The ratios (2 replicas / 1) are the
median of the rounds, with the spread.

The generator, nats-server and the runtimes share the machine's cores, so what 2 replicas buy is bounded by the
cores left over. The per-message CPU cost must not grow with the replica count; it is read where nothing else
moves it: draining a backlog (every batch full, so no wake-up per arrival) one process at a time (no process
competing for the cores). At a steady 1,000 msg/s each process wakes for its own share of the arrivals, and a
wake-up costs several times the work of one message, so that figure is reported beside it with the wake-ups.
Writes benchmarks/results/runtime-scaleout.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(_REPO))

from benchmarks.machine import machine  # noqa: E402
from benchmarks.runtime_e2e import Collector, cpu_seconds, offer, step, sustained  # noqa: E402
from tests.fixtures.edge_runtime import (  # noqa: E402
    RuntimeProcess,
    build_example_model,
    deployment,
    load_build_module,
    runtime_config,
)
from tests.fixtures.nats import NatsServer  # noqa: E402

_RESULT = _REPO / "benchmarks" / "results" / "runtime-scaleout.md"
MODEL = "fraud-scoring"
SETUPS = {"one": 1, "two": 2}  # setup name -> replicas


def interleaved(records: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """Round-robin over the keys, each key's records in their order: every partition busy at every moment."""
    by_key: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_key.setdefault(str(record[key]), []).append(record)
    queues = list(by_key.values())
    out: list[dict[str, Any]] = []
    depth = max(len(q) for q in queues)
    for i in range(depth):
        out += [q[i] for q in queues if i < len(q)]
    return out


def mapping(partitions: int) -> str:
    rules = ", ".join(
        f'"in.{name}.*": "in.{name}.p.{{{{partition({partitions},1)}}}}.{{{{wildcard(1)}}}}"' for name in SETUPS
    )
    return f"mappings = {{ {rules} }}"


def start_runtimes(work: Path, url: str, digest: str, window: dict[str, Any], partitions: int) -> dict[str, Any]:
    """Each setup's runtime processes, started (not yet ready)."""
    procs: dict[str, list[RuntimeProcess]] = {}
    for name, replicas in SETUPS.items():
        procs[name] = []
        for ordinal in range(replicas):
            home = work / f"{name}-{ordinal}"
            proc = RuntimeProcess(home / "runtime.json", home / "runtime.log", env={"EDGEOPS_ORDINAL": str(ordinal)})
            build_example_model(MODEL, home / "models")
            dep = deployment(MODEL, digest, window, input_subject=f"in.{name}", durable=name,
                             result=f"out.{name}", shadow=f"out.{name}.shadow", dead_letter=f"out.{name}.dlq",
                             batching={"max_batch_size": 64, "max_latency_ms": 1.0},
                             state={"stream": "STATE", "subject": f"state.{name}"},
                             # Leases outlast a drain's SIGSTOP: a stopped owner must not be fenced meanwhile.
                             partitions={"count": partitions, "replicas": replicas,
                                         "lease_ttl_ms": 120_000, "lease_renew_ms": 5_000})  # fmt: skip
            runtime_config(proc.config_path, url, [dep], home, flush_interval_ms=None)
            proc.start(wait_ready=False)
            procs[name].append(proc)
    return procs


async def create_assets(js: Any, partitions: int) -> None:
    from nats.js.api import AckPolicy, ConsumerConfig, StorageType, StreamConfig

    await js.add_stream(StreamConfig(name="IN", subjects=["in.>"], storage=StorageType.FILE))
    await js.add_stream(StreamConfig(name="OUT", subjects=["out.>"], storage=StorageType.FILE, duplicate_window=120))
    await js.add_stream(StreamConfig(name="STATE", subjects=["state.>"], storage=StorageType.FILE,
                                     max_msgs_per_subject=1))  # fmt: skip
    for name in SETUPS:
        for p in range(partitions):
            await js.add_consumer("IN", ConsumerConfig(
                durable_name=f"{name}-p{p}", filter_subject=f"in.{name}.p.{p}.*",
                ack_policy=AckPolicy.EXPLICIT, ack_wait=30, max_ack_pending=100_000, max_deliver=-1,
            ))  # fmt: skip


async def bench(work: Path, args: argparse.Namespace) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    import nats

    server = NatsServer(work / "nats", extra_config=mapping(args.partitions))
    server.start()
    procs: dict[str, list[RuntimeProcess]] = {}
    try:
        _, digest, window = build_example_model(MODEL, work / "models")
        module = load_build_module(MODEL)
        raw, _ = module.generate(42, 1000, (20, 21))
        ordered = interleaved(raw, module.WINDOW.key)
        records = [json.dumps(r).encode() for r in ordered]
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        await create_assets(js, args.partitions)
        collectors = {name: Collector() for name in SETUPS}
        for name in SETUPS:
            await nc.subscribe(f"out.{name}", cb=collectors[name].handler)
        subjects = {name: [f"in.{name}.{r[module.WINDOW.key]}" for r in ordered] for name in SETUPS}
        procs = start_runtimes(work, server.url, digest, window, args.partitions)
        for setup in procs.values():
            for proc in setup:
                proc.wait_ready()
        next_id = 0

        async def run_step(name: str, rate: float, secs: float) -> dict[str, Any]:
            nonlocal next_id
            pids = _pids(procs[name])
            before, woke = sum(cpu_seconds(pid) for pid in pids), sum(wakeups(pid) for pid in pids)
            result = await step(nc, collectors[name], subjects[name], records, rate=rate, seconds=secs,
                                start_id=next_id)  # fmt: skip
            result["cpu_us"] = 1e6 * (sum(cpu_seconds(pid) for pid in pids) - before) / max(result["got"], 1)
            result["wakeups"] = (sum(wakeups(pid) for pid in pids) - woke) / max(result["got"], 1)
            result.pop("latencies")
            next_id += int(rate * secs) + 1
            return result

        for name in SETUPS:  # warm every partition's path
            await run_step(name, 500, 2.0)

        rounds: list[dict[str, Any]] = []
        for r in range(args.rounds):
            one_round: dict[str, Any] = {}
            for name in SETUPS:
                at_1000 = await run_step(name, 1000, args.seconds)
                ramp = []
                for rate in args.rates:
                    ramp.append(await run_step(name, rate, max(args.seconds / 2, 3.0)))
                    if not sustained(ramp[-1]):
                        break
                best = max((s["rate"] for s in ramp if sustained(s)), default=0)
                one_round[name] = {"at_1000": at_1000, "ramp": ramp, "sustained": best}
                print(f"round {r + 1} {name}: 1000/s p95 {at_1000['p95']:.2f} ms, {at_1000['cpu_us']:.0f} µs/msg; "
                      f"sustained {best}/s ({_steps(ramp)})", flush=True)  # fmt: skip
            rounds.append(one_round)
        drains = await backlog_drains(nc, js, collectors, procs, subjects=subjects, records=records, args=args,
                                      start_id=next_id)  # fmt: skip
        next_id += drained_ids(args)
        await nc.close()
        return rounds, drains
    finally:
        for setup in procs.values():
            for proc in setup:
                proc.terminate()
        server.stop()


async def backlog_drains(nc: Any, js: Any, collectors: dict[str, Collector], procs: dict[str, list[RuntimeProcess]], *,
                         subjects: dict[str, list[str]], records: list[bytes], args: argparse.Namespace,
                         start_id: int) -> list[dict[str, Any]]:  # fmt: skip
    """`args.drains` drains of each kind: 1 replica, 2 replicas at once, 2 replicas one at a time; their records
    take the ids from `start_id` on (`drained_ids`)."""
    drains = []
    kinds = [("one", True), ("two", True), ("two", False)]  # (setup, every process at once)
    for d in range(args.drains):
        one_drain: dict[str, Any] = {}
        for name, together in kinds[d % 3 :] + kinds[: d % 3]:  # each kind first in turn: drift hits all alike
            one_drain[name if together else "two_alone"] = await drain_backlog(
                nc, js, collectors[name], _pids(procs[name]), subjects=subjects[name], records=records,
                count=args.backlog, start_id=start_id, together=together,
            )  # fmt: skip
            start_id += args.backlog + 1
        drains.append(one_drain)
        print(f"drain {d + 1}: {_drain_line(one_drain)}", flush=True)
    return drains


def drained_ids(args: argparse.Namespace) -> int:
    """How many record ids `backlog_drains` uses: the input stream drops a reused `Nats-Msg-Id` as a duplicate."""
    return 3 * args.drains * (args.backlog + 1)


def _drain_line(one_drain: dict[str, Any]) -> str:
    return ", ".join(f"{kind} {d['rate']:.0f}/s {d['cpu_us']:.0f} µs/msg" for kind, d in one_drain.items())


def _pids(setup: list[RuntimeProcess]) -> list[int]:
    return [pid for p in setup if p.process is not None and (pid := p.process.pid) is not None]


async def drain_backlog(nc: Any, js: Any, collector: Collector, pids: list[int], *, subjects: list[str],
                        records: list[bytes], count: int, start_id: int, together: bool) -> dict[str, Any]:  # fmt: skip
    """A backlog of `count` records, stored while the setup's processes are stopped (SIGSTOP), then consumed at
    full speed: every batch is full, so the CPU per message is the work done per message, without the wake-ups
    that a trickle of arrivals costs each process. `together`: every process resumes at once (they compete for
    the cores with nats-server and each other); else one at a time, each draining its own partitions alone."""
    collector.latencies = []
    stored = (await js.stream_info("IN")).state.last_seq
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        await offer(nc, subjects, records, rate=20 * count, seconds=0.05, start_id=start_id)
        while (await js.stream_info("IN")).state.last_seq < stored + count:  # noqa: ASYNC110 - polls the server
            await asyncio.sleep(0.02)
    finally:
        before, woke = sum(cpu_seconds(pid) for pid in pids), sum(wakeups(pid) for pid in pids)
        begin = time.monotonic()
        for i, pid in enumerate(pids):
            os.kill(pid, signal.SIGCONT)
            if not together and i + 1 < len(pids):
                await _until_quiet(collector)  # this process's partitions are drained: the next one starts
    while len(collector.latencies) < count and time.monotonic() < begin + 120.0:  # noqa: ASYNC110 - a poll
        await asyncio.sleep(0.005)
    took, got = time.monotonic() - begin, len(collector.latencies)
    return {"count": count, "got": got, "seconds": took, "rate": got / took,
            "cpu_us": 1e6 * (sum(cpu_seconds(pid) for pid in pids) - before) / max(got, 1),
            "wakeups": (sum(wakeups(pid) for pid in pids) - woke) / max(got, 1)}  # fmt: skip


async def _until_quiet(collector: Collector, quiet_s: float = 0.3) -> None:
    last = -1
    while len(collector.latencies) != last:
        last = len(collector.latencies)
        await asyncio.sleep(quiet_s)


def wakeups(pid: int) -> int:
    """How often a runtime process (its threads and its checkpoint writer included) blocked and was woken up:
    the voluntary context switches in /proc. An event loop blocks when it has nothing to do, so this is about
    the number of loop passes that found work."""
    total = 0
    pids = [pid, *(int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split())]
    for one in pids:
        for task in Path(f"/proc/{one}/task").iterdir():
            for line in (task / "status").read_text().splitlines():
                if line.startswith("voluntary_ctxt_switches:"):
                    total += int(line.split()[1])
    return total


def _cpu_at_shared_peak(one_round: dict[str, Any]) -> float | None:
    """CPU per message of 2 replicas / 1 at the highest ramp rate that both setups sustained in a round."""
    steps = {name: {s["rate"]: s for s in one_round[name]["ramp"] if sustained(s)} for name in SETUPS}
    shared = set(steps["one"]) & set(steps["two"])
    if not shared:
        return None
    peak = max(shared)
    return float(steps["two"][peak]["cpu_us"] / steps["one"][peak]["cpu_us"])


def _steps(ramp: list[dict[str, Any]]) -> str:
    return ", ".join(f"{s['rate']}: {s['got']}/{s['sent']} {s['p95']:.1f}" for s in ramp)


def _median_spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f}x (runs {', '.join(f'{v:.2f}' for v in values)})"


def report(
    rounds: list[dict[str, Any]], drains: list[dict[str, Any]], args: argparse.Namespace, machine_line: str
) -> str:
    lines = [
        "# Runtime scale-out by key: 1 replica vs 2 (loopback)",
        "",
        f"Machine: {machine_line}. nats-server 2.15 (file storage), {args.partitions} partitions of the",
        "fraud-scoring input by card (nats-server `partition()` mapping), one durable consumer per partition;",
        "generator, collector, nats-server and every runtime process on the same cores. Per round: 1,000 msg/s for",
        f"{args.seconds:.0f} s, then a ramp ({', '.join(str(r) for r in args.rates)} msg/s, each for",
        f"{max(args.seconds / 2, 3.0):.0f} s) to the highest rate sustained (>= 99% of the results within 2 s, p95 <",
        f"50 ms), alternating the setups; {args.rounds} round(s). Then {args.drains} backlog drains of each kind: "
        f"{args.backlog:,}",
        "records stored while the setup's processes were stopped (SIGSTOP), then drained at full speed, by 1 replica,",
        "by 2 replicas at once, and by 2 replicas one at a time, each kind first in turn. CPU: every runtime process",
        "of the setup and its checkpoint writer, per result; wakeups: their voluntary context switches, per result.",
        "`python benchmarks/runtime_scaleout.py` regenerates this file.",
        "",
        "| round | replicas | p50 ms @1k/s | p95 ms @1k/s | CPU µs/msg @1k/s | wakeups/msg @1k/s "
        "| highest sustained msg/s |",
        "|---|---|---|---|---|---|---|",
    ]
    for i, one_round in enumerate(rounds, 1):
        for name, replicas in SETUPS.items():
            a = one_round[name]["at_1000"]
            lines.append(f"| {i} | {replicas} | {a['p50']:.2f} | {a['p95']:.2f} | {a['cpu_us']:.0f} | "
                         f"{a['wakeups']:.2f} | {one_round[name]['sustained']} |")  # fmt: skip
    throughput = [r["two"]["sustained"] / r["one"]["sustained"] for r in rounds if r["one"]["sustained"]]
    cpu = [r["two"]["at_1000"]["cpu_us"] / r["one"]["at_1000"]["cpu_us"] for r in rounds]
    woken = [r["two"]["at_1000"]["wakeups"] / r["one"]["at_1000"]["wakeups"] for r in rounds]
    p95 = [r["two"]["at_1000"]["p95"] / r["one"]["at_1000"]["p95"] for r in rounds]
    busy = [ratio for r in rounds if (ratio := _cpu_at_shared_peak(r)) is not None]
    drain_cpu = [d["two"]["cpu_us"] / d["one"]["cpu_us"] for d in drains]
    alone_cpu = [d["two_alone"]["cpu_us"] / d["one"]["cpu_us"] for d in drains]
    drain_rate = [d["two"]["rate"] / d["one"]["rate"] for d in drains]
    lines += [
        "",
        "Ratios, 2 replicas / 1: the median of the rounds, then each round's value:",
        "",
        f"- highest sustained rate: {_median_spread(throughput) if throughput else 'none (1 replica sustained no rate)'}"
        + (
            f"; {len(rounds) - len(throughput)} round(s) left out: 1 replica sustained no rate"
            if throughput and len(throughput) < len(rounds)
            else ""
        ),
        f"- CPU time per message draining a backlog of {args.backlog:,} records, the 2 replicas one at a time (every",
        "  batch full and no process competing for the cores: the work done per message, which must not grow with",
        f"  the replica count): {_median_spread(alone_cpu)}",
        f"- the same with both replicas draining at once: {_median_spread(drain_cpu)} (two busy processes and",
        "  nats-server on 2 cores: what a machine without a spare core adds)",
        f"- backlog drain rate, both replicas at once: {_median_spread(drain_rate)}",
        f"- CPU time per message at 1,000 msg/s: {_median_spread(cpu)} (a trickle: every process wakes for its",
        "  share of the arrivals, and a wake-up costs several times the work of one message)",
        f"- wakeups per message at 1,000 msg/s: {_median_spread(woken)} (split over more processes, each",
        "  wake-up carries fewer messages)",
        "- CPU time per message at the highest rate both setups sustained in the round (batches fill up, so the",
        f"  per-wake-up cost is shared by more messages): {_median_spread(busy) if busy else 'no rate both sustained'}",
        f"- p95 latency at 1,000 msg/s: {_median_spread(p95)}",
        "",
        "Backlog drains (msg/s drained, CPU µs/msg):",
        "",
        "| drain | 1 replica | 2 replicas at once | 2 replicas one at a time |",
        "|---|---|---|---|",
        *(
            f"| {i} | "
            + " | ".join(f"{d[k]['rate']:.0f}, {d[k]['cpu_us']:.0f}" for k in ("one", "two", "two_alone"))
            + " |"
            for i, d in enumerate(drains, 1)
        ),
        "",
        "Ramp detail (offered rate: results received / sent, p95 ms):",
        "",
    ]
    for i, one_round in enumerate(rounds, 1):
        for name, replicas in SETUPS.items():
            lines.append(
                f"- round {i}, {replicas} replica{'s' if replicas > 1 else ''}: {_steps(one_round[name]['ramp'])}"
            )
    return "\n".join(lines) + "\n"


async def main(args: argparse.Namespace) -> None:
    machine_line = machine(with_load=True)  # before the run: the load it starts under
    with tempfile.TemporaryDirectory(prefix="edgeops-scaleout-") as tmp:
        rounds, drains = await bench(Path(tmp), args)
    text = report(rounds, drains, args, machine_line)
    _RESULT.parent.mkdir(parents=True, exist_ok=True)
    _RESULT.write_text(text)
    print(text)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--rates",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[1000, 1500, 2000, 2500, 3000, 4000, 5000, 6000],
    )
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--backlog", type=int, default=20_000, help="records stored before each drain")
    parser.add_argument("--drains", type=int, default=6, help="backlog drains of each kind")
    asyncio.run(main(parser.parse_args()))
