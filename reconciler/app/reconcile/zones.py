"""Reaching a zone: its kubeconfig context is the zone's `cluster.context`, or the zone name when none is set."""

from __future__ import annotations

from pathlib import Path

from reconciler.core.spec import Zone
from reconciler.shells.kube import ZoneClient


def context_for(zone: Zone) -> str:
    return zone.spec.cluster.context or zone.name


def connect_zone(zone: Zone, kubeconfig: Path | None, timeout_s: float = 20.0) -> ZoneClient:
    """Raises `KubeConfigError` when the kubeconfig or the context is missing."""
    return ZoneClient.connect(zone.name, context_for(zone), kubeconfig, timeout_s)
