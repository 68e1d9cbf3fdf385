"""Publishing and counting helpers for the NATS integration tests (real servers, nats-py clients), and the options
for a region pass that only reaches NATS."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import nats

from reconciler.app.nats import NatsOptions, RetryPolicy
from reconciler.app.reconcile import RegionOptions
from reconciler.shells.nats import NatsEndpoint

POLL_TIMEOUT_S = 60.0


async def connect(endpoint: NatsEndpoint, **options: Any) -> Any:
    if endpoint.user is not None:
        options.update(user=endpoint.user, password=endpoint.password)
    return await nats.connect(endpoint.url, **options)


async def publish_acked(js: Any, subject: str | Callable[[str], str], ids: list[str], *, batch: int = 500) -> None:
    """Publish one message per id (as `Nats-Msg-Id`) to `subject`, or to `subject(id)`, waiting for every JetStream
    ack; retries keep the id."""
    to = subject if callable(subject) else lambda _: subject
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        for attempt in range(5):
            futures = [await js.publish_async(to(i), i.encode(), headers={"Nats-Msg-Id": i}) for i in chunk]
            results = await asyncio.gather(*(asyncio.wait_for(f, 10) for f in futures), return_exceptions=True)
            chunk = [i for i, r in zip(chunk, results, strict=True) if isinstance(r, BaseException)]
            if not chunk:
                break
            await asyncio.sleep(0.2 * (attempt + 1))
        assert not chunk, f"{len(chunk)} messages never acknowledged"


async def subject_counts(jsm: Any, stream: str) -> dict[str, int]:
    info = await jsm.stream_info(stream, subjects_filter=">")
    return dict(info.state.subjects or {})


async def stream_ids(jsm: Any, stream: str) -> list[str]:
    """Every message's `Nats-Msg-Id`, in stream order (duplicates kept, so a test can count them)."""
    info = await jsm.stream_info(stream)
    ids: list[str] = []
    seq = info.state.first_seq
    while info.state.messages and seq <= info.state.last_seq:
        msg = await jsm.get_msg(stream, seq, next=True)
        ids.append((msg.headers or {}).get("Nats-Msg-Id", f"<none:{msg.seq}>"))
        seq = msg.seq + 1
    return ids


async def wait_for(condition: Callable[[], Awaitable[bool]], what: str, timeout_s: float = POLL_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if await condition():
                return
        except Exception:  # the server may still be coming back
            pass
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")


def nats_side_of_a_pass(hub: NatsEndpoint, retry: RetryPolicy, tmp_path: Path) -> RegionOptions:
    """Options for a region pass (`apply_region`) of which these tests watch the NATS side: each zone's JetStream
    through `hub`, then the hub's stream. The kubeconfig does not exist, so every zone's Kubernetes side is
    Unreachable at once (it never reaches a cluster) and the NATS side still runs, as it does for such a zone."""
    return RegionOptions(kubeconfig=tmp_path / "no-such-kubeconfig", nats=NatsOptions(hub, retry=retry))
