"""The consumers the reconciler renders carry the runtime's terms (`runtime.DurableConsumerConfig`) unchanged:
unlimited deliveries (a transient failure must never use them up), the ack wait the runtime's in-progress acks
are paced by, and the documented max ack pending."""

from __future__ import annotations

import pytest

from reconciler.core.nats.assets import NS_PER_S, ConsumerAsset
from runtime import DurableConsumerConfig

pytestmark = pytest.mark.unit


def test_rendered_consumer_settings_are_the_runtime_terms() -> None:
    terms = DurableConsumerConfig()
    api = ConsumerAsset(stream="input-z-m", durable="m-stable", description="m stable runtime",
                        filter_subject="I.stable.>").to_api()  # fmt: skip
    assert api["max_deliver"] == terms.max_deliver == -1
    assert api["ack_wait"] == terms.ack_wait_s * NS_PER_S == 30 * NS_PER_S
    assert api["max_ack_pending"] == terms.max_ack_pending == 20_000
    assert "backoff" not in api
