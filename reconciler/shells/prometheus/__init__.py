"""Prometheus: instant and range queries with our own errors (see `errors` for the error tree). What to measure
for a canary is the app's business (`reconciler.app.canary.measure`)."""

from reconciler.shells.prometheus.client import Prometheus
from reconciler.shells.prometheus.errors import (
    PrometheusError,
    PrometheusQueryError,
    PrometheusResponseError,
    PrometheusUnreachable,
)

__all__ = [
    "Prometheus",
    "PrometheusError",
    "PrometheusQueryError",
    "PrometheusResponseError",
    "PrometheusUnreachable",
]
