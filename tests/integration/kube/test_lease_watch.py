"""Leases and watches on the real apiserver (shared zone-a), as the reconciler's leader election uses them.

Matrix: a Lease is created; renewing it (update with a newer renewTime) succeeds and moves its resourceVersion;
renewing with a stale resourceVersion -> 409; a watch started from the creation's resourceVersion sees the
renewal as a MODIFIED event carrying the new renewTime.
"""

from __future__ import annotations

import datetime
import queue
import threading

import pytest
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

from reconciler.sandbox.localkube import LocalKube
from tests.fixtures.kube import admin_client

pytestmark = pytest.mark.integration

_WATCH_TIMEOUT_S = 60


def _now() -> datetime.datetime:
    # Lease times are MicroTime: the apiserver insists on six fractional digits, and the client's isoformat()
    # drops the fraction when the microseconds are zero.
    now = datetime.datetime.now(datetime.UTC)
    return now if now.microsecond else now.replace(microsecond=1)


def test_lease_renewal_is_seen_by_a_watch(kube_zones: LocalKube, kube_namespace: str) -> None:
    leases = client.CoordinationV1Api(admin_client(kube_zones, "zone-a"))
    acquired = _now()
    lease = leases.create_namespaced_lease(
        kube_namespace,
        client.V1Lease(
            metadata=client.V1ObjectMeta(name="reconciler-region-eu"),
            spec=client.V1LeaseSpec(
                holder_identity="reconciler-0",
                lease_duration_seconds=15,
                acquire_time=acquired,
                renew_time=acquired,
            ),
        ),
    )
    created_version = lease.metadata.resource_version

    events: queue.Queue[tuple[str, client.V1Lease]] = queue.Queue()

    def watch_leases() -> None:
        stream = watch.Watch().stream(
            client.CoordinationV1Api(admin_client(kube_zones, "zone-a")).list_namespaced_lease,
            kube_namespace,
            resource_version=created_version,
            timeout_seconds=_WATCH_TIMEOUT_S,
        )
        for event in stream:
            events.put((event["type"], event["object"]))
            if event["type"] == "MODIFIED":
                return

    watcher = threading.Thread(target=watch_leases, daemon=True)
    watcher.start()

    renewed_at = acquired + datetime.timedelta(seconds=10)
    lease.spec.renew_time = renewed_at
    renewed = leases.replace_namespaced_lease("reconciler-region-eu", kube_namespace, lease)
    assert renewed.metadata.resource_version != created_version
    assert renewed.spec.renew_time == renewed_at

    # A second holder renewing from the stale version loses: that is what makes leader election safe.
    lease.spec.holder_identity = "reconciler-1"
    with pytest.raises(ApiException) as stale:
        leases.replace_namespaced_lease("reconciler-region-eu", kube_namespace, lease)
    assert stale.value.status == 409

    kind, seen = events.get(timeout=_WATCH_TIMEOUT_S)
    assert kind == "MODIFIED"
    assert seen.spec.renew_time == renewed_at
    assert seen.spec.holder_identity == "reconciler-0"
    watcher.join(timeout=_WATCH_TIMEOUT_S)
