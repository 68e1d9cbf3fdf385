"""Announcing a merge to the region loops: publish a nudge on the hub so the merged commit is applied within
seconds instead of at the next poll. The PR bot nudges every region on a push to the base branch; the canary
controller nudges its region after it merged a pull request (a rollback above all).

A nudge is only a shortcut: when it cannot be sent the region loop still applies the commit at its next interval,
so senders report the failure and go on. Credentials come from the environment (`NUDGE_USER_ENV`,
`NUDGE_PASSWORD_ENV`), never from the repository.

    hub = nudge_endpoint("nats://hub.eu-west:4222")
    publish_nudge(hub, Nudge(sha, "push to main", NudgeSource.WEBHOOK))        # -> "edgeops.reconciler.nudge"
    nudge_merged(hub, "eu-west", proposal)                                     # -> a line for the log
"""

from __future__ import annotations

import asyncio
import os

from reconciler.app.gitops.propose import Proposal
from reconciler.core.nats import Nudge, NudgeSource, encode_nudge, nudge_subject
from reconciler.shells.nats import NatsClient, NatsEndpoint, NatsError, Reconnect

NUDGE_USER_ENV = "EDGEOPS_NUDGE_NATS_USER"
NUDGE_PASSWORD_ENV = "EDGEOPS_NUDGE_NATS_PASSWORD"  # noqa: S105 - the variable's name, not a password


def nudge_endpoint(url: str) -> NatsEndpoint:
    """The hub at `url`, as the user named in the environment (none: connect without credentials)."""
    user = os.environ.get(NUDGE_USER_ENV) or None
    return NatsEndpoint(url, user=user, password=os.environ.get(NUDGE_PASSWORD_ENV) if user else None)


async def send_nudge(endpoint: NatsEndpoint, nudge: Nudge, region: str | None = None) -> str:
    """Publish `nudge` to `region`'s loop (None: every region's) and wait until the server has it; returns the
    subject. Raises `NatsError` (fast: within twice the endpoint's timeout) when the hub cannot be reached."""
    subject = nudge_subject(region)
    client = await NatsClient.connect(endpoint, Reconnect.NEVER, name="edgeops-nudge")
    try:
        await client.publish(subject, encode_nudge(nudge))
        await asyncio.wait_for(client.flush(), timeout=endpoint.timeout_s)
    except TimeoutError as error:
        raise NatsError(f"publish to {subject}: no answer from {endpoint.url} in {endpoint.timeout_s}s") from error
    finally:
        await client.close()
    return subject


def publish_nudge(endpoint: NatsEndpoint, nudge: Nudge, region: str | None = None) -> str:
    """`send_nudge` for synchronous callers (not from inside a running event loop)."""
    return asyncio.run(send_nudge(endpoint, nudge, region))


def nudge_merged(endpoint: NatsEndpoint, region: str, proposal: Proposal) -> str:
    """After the canary controller merged `proposal`: nudge `region`'s loop. Returns what happened, in words;
    never raises for NATS (the loop's interval applies the merge anyway)."""
    why = f"merged #{proposal.pull.number}: {proposal.pull.title}"
    try:
        subject = publish_nudge(endpoint, Nudge(sha=None, why=why, source=NudgeSource.CANARY), region)
    except NatsError as error:
        return f"nudge not sent ({error}); the reconciler applies the merge at its next interval"
    return f"nudged {subject}"
