"""Push deliveries and the memory of handled deliveries.

Matrix: a push to the base branch nudges once, as the webhook, with the pushed commit; a push to another branch,
a tag, or the base branch's deletion nudges nothing; without a nudge configured a push is only noted; a push
without `ref` is unusable; the memory of delivery ids keeps exactly the newest `capacity` ids (named cases and
generated sequences) and refuses a capacity below 1.
"""

from __future__ import annotations

from collections import OrderedDict

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.app.bot import RecentDeliveries, handle_push
from reconciler.app.bot.webhook import UnusablePayload
from reconciler.core.nats import Nudge, NudgeSource

pytestmark = pytest.mark.unit
SHA = "3f2a" * 10


class Sent(list[Nudge]):
    def __call__(self, nudge: Nudge) -> str:
        self.append(nudge)
        return "edgeops.reconciler.nudge"


def test_a_push_to_the_base_branch_nudges_every_region() -> None:
    sent = Sent()
    outcome = handle_push("main", {"ref": "refs/heads/main", "after": SHA}, sent)
    assert sent == [Nudge(sha=SHA, why="push to main", source=NudgeSource.WEBHOOK)]
    assert outcome == f"nudged edgeops.reconciler.nudge for {SHA[:12]}"


@pytest.mark.parametrize(
    "payload",
    [
        {"ref": "refs/heads/feature", "after": SHA},
        {"ref": "refs/heads/main-old", "after": SHA},
        {"ref": "refs/tags/main", "after": SHA},
        {"ref": "main", "after": SHA},
        {"ref": "refs/heads/main", "after": "0" * 40, "deleted": True},
    ],
)
def test_other_pushes_nudge_nothing(payload: dict[str, object]) -> None:
    sent = Sent()
    assert handle_push("main", payload, sent).startswith("ignored")
    assert sent == []


def test_without_a_nudge_a_push_is_only_noted() -> None:
    assert "no nudge configured" in handle_push("main", {"ref": "refs/heads/main", "after": SHA}, None)


def test_a_push_without_ref_is_unusable() -> None:
    with pytest.raises(UnusablePayload, match="no ref"):
        handle_push("main", {"after": SHA}, Sent())


def test_the_memory_forgets_the_oldest_first() -> None:
    recent = RecentDeliveries(capacity=2)
    for delivery in ("a", "b", "a", "c"):
        recent.remember(delivery)
    assert [d for d in "abc" if d in recent] == ["a", "c"]
    assert len(recent) == 2


def test_a_memory_holds_at_least_one() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        RecentDeliveries(capacity=0)


@given(st.integers(min_value=1, max_value=8), st.lists(st.sampled_from("abcdefghijkl"), max_size=60))
def test_the_memory_keeps_exactly_the_newest_ids(capacity: int, deliveries: list[str]) -> None:
    recent = RecentDeliveries(capacity)
    newest: OrderedDict[str, None] = OrderedDict()
    for delivery in deliveries:
        recent.remember(delivery)
        newest[delivery] = None
        newest.move_to_end(delivery)
    kept = list(newest)[-capacity:]
    assert len(recent) == len(kept)
    assert all(d in recent for d in kept)
    assert not any(d in recent for d in set(deliveries) - set(kept))
