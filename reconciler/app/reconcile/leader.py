"""Leader election with a `coordination.k8s.io/v1` Lease, so two reconciler replicas of a region never act at
once (the algorithm of client-go's leaderelection, trimmed to what one process needs).

- The holder renews `spec.renewTime` every `retry_s`; others watch the record and take the Lease over only when
  it has not changed for `lease_duration_s` as measured on *their own* monotonic clock (no cross-host clock
  comparison), with an optimistic-concurrency PUT: of two contenders exactly one write wins.
- A leader that could not renew for `renew_deadline_s` stops acting before its Lease can expire elsewhere.
- `release()` on graceful stop empties the holder so a standby takes over at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from reconciler.shells.kube import Conflict, KubeError, NotFound, ZoneClient


def _now_micro() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElector:
    def __init__(
        self,
        client: ZoneClient,
        namespace: str,
        name: str,
        identity: str,
        *,
        lease_duration_s: float = 15.0,
        renew_deadline_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self.namespace = namespace
        self.name = name
        self.identity = identity
        self.lease_duration_s = lease_duration_s
        self.renew_deadline_s = renew_deadline_s
        self._clock = clock
        self._observed: tuple[str, str] | None = None  # (holder, renewTime) last seen
        self._observed_at = 0.0
        self._last_renewal: float | None = None

    @property
    def is_leader(self) -> bool:
        return self._last_renewal is not None and self._clock() - self._last_renewal < self.renew_deadline_s

    def try_acquire_or_renew(self) -> bool:
        """One attempt; True while we hold the Lease. Never raises for the API's failures (they mean: not now)."""
        try:
            acquired = self._attempt()
        except KubeError:
            acquired = False
        if acquired:
            self._last_renewal = self._clock()
        return self.is_leader

    def _attempt(self) -> bool:
        now = self._clock()
        lease = self._client.get("coordination.k8s.io/v1", "Lease", self.namespace, self.name)
        if lease is None:
            try:
                self._client.create(self._lease_body(None, transitions=0))
            except (Conflict, NotFound):
                return False
            return True
        spec = lease.get("spec", {})
        holder = spec.get("holderIdentity") or ""
        record = (holder, str(spec.get("renewTime", "")))
        if record != self._observed:
            self._observed, self._observed_at = record, now
        duration = float(spec.get("leaseDurationSeconds") or self.lease_duration_s)
        expired = now - self._observed_at >= duration
        if holder and holder != self.identity and not expired:
            return False
        transitions = int(spec.get("leaseTransitions") or 0) + (0 if holder == self.identity else 1)
        try:
            self._client.replace(self._lease_body(lease, transitions, keep_acquire=holder == self.identity))
        except Conflict:
            return False
        return True

    def _lease_body(
        self, current: dict[str, Any] | None, transitions: int, keep_acquire: bool = False
    ) -> dict[str, Any]:
        now = _now_micro()
        metadata: dict[str, Any] = {"name": self.name, "namespace": self.namespace}
        acquire = now
        if current is not None:
            metadata["resourceVersion"] = current["metadata"]["resourceVersion"]
            if keep_acquire:
                acquire = current.get("spec", {}).get("acquireTime") or now
        return {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": metadata,
            "spec": {
                "holderIdentity": self.identity,
                "leaseDurationSeconds": max(1, round(self.lease_duration_s)),
                "acquireTime": acquire,
                "renewTime": now,
                "leaseTransitions": transitions,
            },
        }

    def release(self) -> None:
        """Give the Lease up (graceful stop) so another replica need not wait for it to expire."""
        if self._last_renewal is None:
            return
        self._last_renewal = None
        try:
            lease = self._client.get("coordination.k8s.io/v1", "Lease", self.namespace, self.name)
            if lease is None or lease.get("spec", {}).get("holderIdentity") != self.identity:
                return
            lease["spec"]["holderIdentity"] = ""
            lease["spec"]["leaseDurationSeconds"] = 1
            self._client.replace(lease)
        except KubeError:
            return  # it expires on its own
