"""Prometheus: the canary analysis's measurements (see `errors` for the error tree)."""

from reconciler.shells.prometheus.client import Prometheus
from reconciler.shells.prometheus.errors import (
    PrometheusError,
    PrometheusQueryError,
    PrometheusResponseError,
    PrometheusUnreachable,
)
from reconciler.shells.prometheus.measure import measure_group, measure_zone

__all__ = [
    "Prometheus",
    "PrometheusError",
    "PrometheusQueryError",
    "PrometheusResponseError",
    "PrometheusUnreachable",
    "measure_group",
    "measure_zone",
]
