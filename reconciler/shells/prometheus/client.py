"""A thin client over prometheus-api-client: instant scalar and vector queries and range series, with our errors.

Retries are off (an analysis that cannot measure holds and tries again next interval) and every request has a
timeout, so an unreachable server costs one timeout, not minutes of backoff.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from prometheus_api_client import PrometheusConnect
from prometheus_api_client.exceptions import PrometheusApiClientException
from urllib3.util.retry import Retry

from reconciler.shells.prometheus.errors import (
    PrometheusQueryError,
    PrometheusResponseError,
    PrometheusUnreachable,
)


class Prometheus:
    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self._timeout = timeout
        self._api = PrometheusConnect(url=self.url, disable_ssl=False, retry=Retry(total=0), timeout=timeout)

    def _call(self, what: str, call: Any) -> Any:
        try:
            return call()
        except (requests.ConnectionError, requests.Timeout) as error:
            raise PrometheusUnreachable(f"Prometheus at {self.url} did not answer: {error}") from error
        except PrometheusApiClientException as error:
            raise PrometheusQueryError(f"Prometheus at {self.url} refused {what}: {error}") from error
        except requests.RequestException as error:
            raise PrometheusUnreachable(f"Prometheus at {self.url}: {error}") from error

    def scalar(self, query: str, at: datetime) -> float | None:
        """The single value of an instant query at `at`; None when the result is empty or NaN (no data)."""
        result = self._call(
            "an instant query", lambda: self._api.custom_query(query, params={"time": f"{at.timestamp():.3f}"})
        )
        if not isinstance(result, list):
            raise PrometheusResponseError(f"expected an instant vector for {query!r}, got {type(result).__name__}")
        if not result:
            return None
        if len(result) > 1:
            raise PrometheusResponseError(f"expected one series for {query!r}, got {len(result)}")
        return _number(result[0].get("value", [None, None])[1])

    def vector(self, query: str, at: datetime) -> tuple[tuple[dict[str, str], float | None], ...]:
        """Every series of an instant query at `at`: its labels and value (None for NaN)."""
        result = self._call(
            "an instant query", lambda: self._api.custom_query(query, params={"time": f"{at.timestamp():.3f}"})
        )
        if not isinstance(result, list):
            raise PrometheusResponseError(f"expected an instant vector for {query!r}, got {type(result).__name__}")
        return tuple(
            ({str(k): str(v) for k, v in item.get("metric", {}).items()}, _number(item.get("value", [None, None])[1]))
            for item in result
        )

    def series(
        self, query: str, start: datetime, end: datetime, step: timedelta
    ) -> tuple[tuple[datetime, float | None], ...]:
        """Points of a range query (one series); empty when there is no data."""
        step_text = f"{max(step.total_seconds(), 0.001):.3f}"  # seconds as a float: Prometheus takes both
        result = self._call(
            "a range query", lambda: self._api.custom_query_range(query, start_time=start, end_time=end, step=step_text)
        )
        if not isinstance(result, list):
            raise PrometheusResponseError(f"expected a matrix for {query!r}")
        if not result:
            return ()
        return tuple((datetime.fromtimestamp(float(t), tz=UTC), _number(v)) for t, v in result[0].get("values", []))


def _number(raw: object) -> float | None:
    try:
        value = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) or math.isinf(value) else value
