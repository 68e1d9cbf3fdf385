"""merge_zone_result / with_nats: folding a zone's NATS outcome into its Kubernetes result and plan (no I/O).

Matrix: NATS Ready → status kept, NATS changes counted and shown | NATS Degraded → Synced and Progressing become
Degraded with the reason, Unreachable and OutOfSync stay | a blocked stream deletion → Degraded | plans: the hub
appears as its own plan, a Degraded zone carries the error.
"""

from __future__ import annotations

import pytest

from reconciler.core.plan import (
    Action,
    Change,
    ChangeSet,
    NatsStatus,
    NatsZoneResult,
    ZonePlan,
    merge_zone_result,
    with_nats,
)
from reconciler.core.plan.status import ZoneResult, ZoneStatus

pytestmark = pytest.mark.unit

CREATE = Change(Action.CREATE, "Stream", "ams-01", "results-ams-01", system="nats")
BLOCKED = Change(Action.PRUNE, "Stream", "ams-01", "old", system="nats", detail="blocked: holds 3 messages")


def kube(status: ZoneStatus) -> ZoneResult:
    return ZoneResult("ams-01", status, "abc", ZonePlan("ams-01", "abc"), applied=2)


def test_ready_nats_keeps_status_and_counts_changes() -> None:
    merged = merge_zone_result(
        kube(ZoneStatus.SYNCED), NatsZoneResult("ams-01", NatsStatus.READY, ChangeSet((CREATE,)))
    )
    assert merged.status is ZoneStatus.SYNCED
    assert merged.applied == 3
    assert [c.ref for c in merged.plan.all_changes] == ["Stream/ams-01/results-ams-01"]


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (ZoneStatus.SYNCED, ZoneStatus.DEGRADED),
        (ZoneStatus.PROGRESSING, ZoneStatus.DEGRADED),
        (ZoneStatus.UNREACHABLE, ZoneStatus.UNREACHABLE),
        (ZoneStatus.OUT_OF_SYNC, ZoneStatus.OUT_OF_SYNC),
    ],
)
def test_degraded_nats(before: ZoneStatus, after: ZoneStatus) -> None:
    nats = NatsZoneResult("ams-01", NatsStatus.DEGRADED, ChangeSet(), "NATS unreachable: connect refused")
    merged = merge_zone_result(kube(before), nats)
    assert merged.status is after
    assert "nats: NATS unreachable: connect refused" in merged.message


def test_blocked_stream_deletion_degrades() -> None:
    nats = NatsZoneResult("ams-01", NatsStatus.READY, ChangeSet((BLOCKED,)), blocked=(BLOCKED,))
    merged = merge_zone_result(kube(ZoneStatus.SYNCED), nats)
    assert merged.status is ZoneStatus.DEGRADED
    assert "Stream/ams-01/old blocked: holds 3 messages" in merged.message


def test_with_nats_adds_hub_and_errors() -> None:
    results = [
        NatsZoneResult("ams-01", NatsStatus.DEGRADED, ChangeSet(), "NATS unreachable: x"),
        NatsZoneResult("hub-eu-west", NatsStatus.READY, ChangeSet((CREATE,))),
    ]
    plans = with_nats([ZonePlan("ams-01", "abc")], results, "abc")
    assert [p.zone for p in plans] == ["ams-01", "hub-eu-west"]
    assert plans[0].error == "nats: NATS unreachable: x"
    assert plans[1].pending
