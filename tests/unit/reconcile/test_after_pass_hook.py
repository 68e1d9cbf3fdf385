"""The region loop's after-pass hook (notifications): it gets each pass's load and zone results, and its failure
is logged, never the pass's."""

from __future__ import annotations

from datetime import datetime

import pytest

from reconciler.app.reconcile.loop import LoopOptions, RegionLoop
from reconciler.app.reconcile.source import Fetched
from reconciler.core.load import LoadResult
from reconciler.core.plan import ZonePlan, ZoneResult, ZoneStatus

pytestmark = pytest.mark.unit

LOAD = LoadResult(None, ())
RESULTS = [ZoneResult("ams-01", ZoneStatus.DEGRADED, "abc", ZonePlan("ams-01", "abc"))]


def _never_fetched() -> Fetched:
    raise AssertionError("not fetched in these tests")


def test_the_hook_sees_the_pass() -> None:
    seen: list[tuple[LoadResult, list[ZoneResult], datetime]] = []
    loop = RegionLoop(_never_fetched, LoopOptions("eu-west"), after_pass=lambda *args: seen.append(args))
    loop._hook(LOAD, RESULTS)
    assert [(load, zones) for load, zones, _ in seen] == [(LOAD, RESULTS)]
    assert seen[0][2].tzinfo is not None


def test_a_failing_hook_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("webhook exploded")

    loop = RegionLoop(_never_fetched, LoopOptions("eu-west"), after_pass=broken)
    loop._hook(LOAD, RESULTS)
    assert "after-pass hook failed" in caplog.text
