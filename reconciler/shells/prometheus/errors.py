"""Errors of the Prometheus shell. Library exceptions (requests, prometheus-api-client) never leak; the original
is chained as `__cause__`.

    PrometheusError                 anything that kept a query from giving an answer
    ├── PrometheusUnreachable       connection refused, DNS, TLS or a timeout: the server did not answer
    ├── PrometheusQueryError        the server answered with an error (bad PromQL, 4xx/5xx)
    └── PrometheusResponseError     the answer is not the shape we asked for (e.g. a matrix for an instant query)
"""

from __future__ import annotations


class PrometheusError(Exception):
    """Base of every error raised by `reconciler.shells.prometheus`."""


class PrometheusUnreachable(PrometheusError):
    pass


class PrometheusQueryError(PrometheusError):
    pass


class PrometheusResponseError(PrometheusError):
    pass
