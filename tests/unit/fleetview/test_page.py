"""The fleet page's HTML: every region's table with one row per zone, canary panels with an inline SVG chart
(canary, stable and the SLO line, gaps where a track had no data), pull-request and rollback links; no script, no
external resource, no form; every outside string escaped (named cases and generated ones); only http(s) links."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.app.desired import load_desired
from reconciler.core.fleetview import (
    CanaryPanel,
    FleetPage,
    Link,
    Point,
    RegionTable,
    ZoneReading,
    render_page,
    svg_chart,
    zone_rows,
)
from tests.fixtures.template_repo import REPO_ROOT

pytestmark = pytest.mark.unit

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
HOSTILE = "<script>alert(1)</script>\"'><img src=x onerror=alert(1)>&amp;"


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(html)
    return parser


def _panel(zone: str = "ams-01", model: str = "fraud-scoring") -> CanaryPanel:
    points = tuple(Point(NOW - timedelta(minutes=10 - i), None if i == 3 else 20.0 + i, 15.0) for i in range(10))
    return CanaryPanel("eu-west", zone, model, "1.1.0", "live", 10, points, points, 30.0, 1.0)


def _page(text: str) -> FleetPage:
    spec = load_desired(REPO_ROOT).spec
    assert spec is not None
    readings = {"ams-01": ZoneReading("ams-01", revision="a" * 40, status="Degraded", unhealthy=(text,))}
    rows = zone_rows(spec, "eu-west", head="a" * 40, readings=readings, now=NOW, stale_after=timedelta(minutes=5))
    return FleetPage(
        NOW,
        (RegionTable("eu-west", rows, (text,)),),
        (_panel(text, text),),
        (Link(text, "https://forge.example/o/r/pull/3", number=3),),
        (Link(text, f"javascript:alert('{text}')", number=2),),
        (text,),
    )


def test_tables_panels_and_links() -> None:
    html = render_page(_page("0/2 available"))
    tags = _parse(html)
    zones = [a.get("data-zone") for t, a in tags.tags if t == "tr" and a.get("data-zone")]
    assert zones == ["ams-01", "fra-02", "lis-03"]
    assert html.count("<svg") == 2
    assert 'class="slo"' in html
    assert 'href="https://forge.example/o/r/pull/3"' in html
    assert "0/2 available" in html


def test_nothing_runs_loads_or_writes() -> None:
    tags = _parse(render_page(_page(HOSTILE)))
    names = {t for t, _ in tags.tags}
    assert not names & {"script", "form", "input", "button", "iframe", "img", "link", "object", "embed"}
    for _, attrs in tags.tags:
        assert not any(k.startswith("on") for k in attrs)
        for key in ("href", "src"):
            value = attrs.get(key)
            assert value is None or value == "#" or value.startswith("https://")
    html = render_page(_page(HOSTILE))
    assert "<script>" not in html
    assert 'href="javascript' not in html
    assert HOSTILE in "".join(tags.text)  # shown as text, whole


@given(text=st.text(max_size=200))
def test_any_outside_text_stays_text(text: str) -> None:
    html = render_page(_page(text))
    tags = _parse(html)
    assert not {t for t, _ in tags.tags} & {"script", "img", "iframe", "form"}
    assert all(not any(k.startswith("on") for k in a) for _, a in tags.tags)


def test_the_chart_breaks_lines_where_data_is_missing_and_scales_to_the_slo() -> None:
    points = (
        Point(NOW, 10.0, 5.0),
        Point(NOW + timedelta(minutes=1), None, 5.0),
        Point(NOW + timedelta(minutes=2), 12.0, 5.0),
    )
    svg = svg_chart("p95", "ms", points, 100.0)
    canary = re.search(r'class="canary" d="([^"]*)"', svg)
    assert canary is not None
    assert canary.group(1).count("M") == 2  # two segments: the gap is not drawn as zero
    assert "SLO 100" in svg
    assert svg_chart("p95", "ms", (), 30.0).startswith("<svg")  # no data: axes and the SLO only
