"""The per-window evidence charts: canary (bars) vs stable (line) p95 and error rate per analysis window, oldest
first, against the threshold; windows without both tracks are left out; zone names are reduced to harmless
label characters; every series has one value per x-axis label, for any measurements; a large fleet's evidence
still splits into comments under GitHub's limit with every chart whole."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.core.bot import COMMENT_LIMIT, with_parts
from reconciler.core.canary import (
    CanaryStep,
    Decision,
    Thresholds,
    TrackSample,
    Verdict,
    WindowSample,
    WindowStatus,
    ZoneEvidence,
    evidence,
    window_charts,
)

pytestmark = pytest.mark.unit

START = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
THRESHOLDS = Thresholds(30, 1, 1.5, 200)


def _window(i: int, canary: TrackSample, stable: TrackSample) -> WindowSample:
    return WindowSample(START + timedelta(minutes=i), START + timedelta(minutes=i + 1), canary, stable)


def _evidence(zone: str, windows: list[WindowSample]) -> ZoneEvidence:
    newest_first = tuple(reversed(windows))
    return ZoneEvidence(zone, WindowStatus.PASS, None, None, None, windows=newest_first)


def _series(chart: list[str]) -> list[list[str]]:
    return [re.findall(r"[^,\[\] ]+", line.split("[", 1)[1]) for line in chart if re.match(r"\s+(bar|line) \[", line)]


def test_canary_and_stable_per_window_against_the_thresholds() -> None:
    windows = [
        _window(0, TrackSample(20.0, 1000, 5, 995), TrackSample(10.0, 1000, 1, 999)),
        _window(1, TrackSample(40.0, 1000, 20, 980), TrackSample(11.0, 1000, 2, 998)),
    ]
    text = "\n".join(window_charts(_evidence("ams-01", windows), THRESHOLDS))
    assert text.count("xychart-beta") == 2
    assert '"10:01:00", "10:02:00"' in text  # window ends, oldest first
    assert "bar [20, 40]" in text
    assert "line [10, 11]" in text
    assert "line [30, 30]" in text  # p95 threshold
    assert "bar [0.5, 2]" in text  # error rate in percent
    assert "line [0.1, 0.2]" in text
    assert "line [1, 1]" in text  # error-rate threshold


def test_windows_without_both_tracks_are_left_out_and_none_gives_no_chart() -> None:
    empty = TrackSample(None, 0, 0, 0)
    windows = [
        _window(0, empty, TrackSample(10.0, 100, 0, 100)),
        _window(1, TrackSample(25.0, 100, 0, 100), TrackSample(12.0, 100, 0, 100)),
    ]
    text = "\n".join(window_charts(_evidence("ams-01", windows), THRESHOLDS))
    assert "bar [25]" in text
    assert "10:01:00" not in text
    assert window_charts(_evidence("ams-01", [_window(0, empty, empty)]), THRESHOLDS) == []


def test_a_hostile_zone_name_cannot_break_out_of_the_chart() -> None:
    windows = [_window(0, TrackSample(20.0, 10, 0, 10), TrackSample(10.0, 10, 0, 10))]
    text = "\n".join(window_charts(_evidence('x"]\n```\n<img src=x> @all', windows), THRESHOLDS))
    title = next(line for line in text.splitlines() if "title" in line)
    assert title.count('"') == 2
    assert "<" not in text
    assert "@" not in text
    assert text.count("```") == 4  # two charts, each opened and closed once


tracks = st.builds(
    TrackSample,
    st.one_of(st.none(), st.floats(min_value=0, max_value=1e6, allow_nan=False)),
    st.floats(min_value=0, max_value=1e9, allow_nan=False),
    st.floats(min_value=0, max_value=1e9, allow_nan=False),
    st.floats(min_value=0, max_value=1e9, allow_nan=False),
)


@given(pairs=st.lists(st.tuples(tracks, tracks), max_size=200))
def test_every_series_has_one_value_per_window_charted(pairs: list[tuple[TrackSample, TrackSample]]) -> None:
    windows = [_window(i, canary, stable) for i, (canary, stable) in enumerate(pairs)]
    chart = window_charts(_evidence("ams-01", windows), THRESHOLDS)
    for block in "\n".join(chart).split("```mermaid")[1:]:
        lines = block.splitlines()
        labels = re.findall(r'"[^"]*"', next(line for line in lines if "x-axis" in line))
        series = _series(lines)
        assert len(series) == 3
        assert all(len(values) == len(labels) for values in series)
        assert all(float(v) >= 0 for values in series for v in values)


def test_a_large_fleets_evidence_splits_under_the_limit_with_charts_whole() -> None:
    windows = [_window(i, TrackSample(20.0 + i, 1000, i, 1000), TrackSample(10.0, 1000, 0, 1000)) for i in range(120)]
    zones = tuple(_evidence(f"zone-{n:03d}", windows) for n in range(60))
    verdict = Verdict(Decision.ADVANCE, "ok", THRESHOLDS, timedelta(minutes=1), zones, CanaryStep("1.1.0", "live", 10))
    parts = with_parts("canary:evidence", evidence("Canary evidence", verdict))
    assert len(parts) > 1
    assert all(len(part) <= COMMENT_LIMIT for part in parts)
    for part in parts:
        assert part.count("```mermaid") * 2 == part.count("```")  # no chart cut between two comments
