"""`runtime.metrics.observe_each` against prometheus_client's own `Histogram.observe` on the installed version:
generated batches of values (bucket bounds exactly, between them, beyond the last, zero of either sign, negative,
huge, infinite, NaN) observed into two label sets give the same exposition text as one `observe` per value on a
second registry, so the per-message latency series keep their meaning. A prometheus_client that renames or
reshapes the private histogram fields `observe_each` reads fails here."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from runtime.metrics import LATENCY_BUCKETS, Metrics, observe_each

pytestmark = pytest.mark.unit

_LABELS = (("z", "m", "1.0.0", "stable", "cpu"), ("z", "m", "2.0.0", "canary", "cpu"))
_VALUES = st.one_of(
    st.sampled_from(LATENCY_BUCKETS),
    st.floats(min_value=0.0, max_value=20.0),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, math.inf, -math.inf, math.nan, 5e-324]),
)


def _exposition(metrics: Metrics) -> list[str]:
    """The registry's text without the `_created` samples, which hold each registry's own creation time."""
    text = generate_latest(metrics.registry).decode()
    return [line for line in text.splitlines() if "_created" not in line]


@given(st.lists(st.tuples(st.sampled_from(range(len(_LABELS))), st.lists(_VALUES, max_size=70)), max_size=6))
def test_observe_each_is_one_observe_per_value(batches: list[tuple[int, list[float]]]) -> None:
    one_by_one, batched = Metrics(), Metrics()
    for which, values in batches:
        child = one_by_one.e2e.labels(*_LABELS[which])  # a series exists once labelled, observed or not
        for value in values:
            child.observe(value)
        observe_each(batched.e2e.labels(*_LABELS[which]), values)
    assert _exposition(batched) == _exposition(one_by_one)


def test_values_on_the_bounds_count_in_their_own_bucket() -> None:
    one_by_one, batched = Metrics(), Metrics()
    values = [*LATENCY_BUCKETS, *(math.nextafter(b, math.inf) for b in LATENCY_BUCKETS), 0.1 + 0.2, math.nan]
    for value in values:
        one_by_one.stage.labels(*_LABELS[0], "queue_wait").observe(value)
    observe_each(batched.stage.labels(*_LABELS[0], "queue_wait"), values)
    assert _exposition(batched) == _exposition(one_by_one)
    (stage,) = (
        f for f in text_string_to_metric_families("\n".join(_exposition(batched))) if f.name == "edgeops_stage_seconds"
    )
    got = {(s.name, s.labels.get("le")): s.value for s in stage.samples}
    assert got["edgeops_stage_seconds_bucket", "0.0005"] == 1.0  # the bound itself, not the float above it
    assert got["edgeops_stage_seconds_bucket", "+Inf"] == len(values) - 1  # NaN falls in no bucket
    assert math.isnan(got["edgeops_stage_seconds_sum", None])
