"""The fleet page: one HTML document, rendered here from plain values (no I/O), served read-only.

Every region's table (the rows of `edgeops status`), a canary panel per running canary with an inline SVG chart of
canary vs stable p95 and error rate over time against the SLO, the open edgeops pull requests with links, and the
last rollbacks. No script, no external resource (no CDN: the page works on a network without the internet), no
form: nothing on it writes. Every string that comes from outside — zone, model and region names, reasons, pull
request titles and URLs — goes through `html.escape`; links are kept only with an http(s) scheme.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from html import escape

from reconciler.core.fleetview.rows import ZoneRow
from reconciler.core.fleetview.text import model_text

_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#1f2328;background:#fff}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #d0d7de;padding:3px 8px;text-align:left;
vertical-align:top}th{background:#f6f8fa}.Synced{color:#1a7f37}.Degraded,.Unreachable,.OutOfSync{color:#cf222e}
.Progressing,.Unknown{color:#9a6700}.stale{background:#fff8c5}.muted{color:#656d76}
.panel{display:inline-block;margin:0 1em 1em 0;vertical-align:top}svg text{font:11px system-ui,sans-serif}
""".strip()


@dataclass(frozen=True)
class Point:
    at: datetime
    canary: float | None
    stable: float | None


@dataclass(frozen=True)
class CanaryPanel:
    region: str
    zone: str
    model: str
    version: str
    phase: str
    weight: int
    p95_ms: Sequence[Point]
    error_percent: Sequence[Point]
    slo_p95_ms: float
    slo_error_percent: float


@dataclass(frozen=True)
class Link:
    title: str
    url: str
    at: datetime | None = None
    number: int | None = None


@dataclass(frozen=True)
class RegionTable:
    region: str
    rows: Sequence[ZoneRow]
    problems: Sequence[str] = ()


@dataclass(frozen=True)
class FleetPage:
    generated_at: datetime
    regions: Sequence[RegionTable]
    canaries: Sequence[CanaryPanel] = ()
    pulls: Sequence[Link] = ()
    rollbacks: Sequence[Link] = ()
    problems: Sequence[str] = field(default_factory=tuple)  # sources that could not be read


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _href(url: str) -> str:
    return _e(url) if url.startswith(("https://", "http://")) else "#"


def _ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "–"
    return f'<time datetime="{_e(moment.isoformat())}">{_e(moment.strftime("%Y-%m-%d %H:%M:%S"))}</time>'


def _row(row: ZoneRow, now: datetime) -> str:
    models = "<br>".join(_e(model_text(m, now)) for m in row.models) or "–"
    sync = "at head" if row.in_sync else f"head {_e((row.head or '-')[:12])}"
    flags = " stale" if row.stale else ""
    cells = [
        f"{_e(row.zone)}{' (paused)' if row.paused else ''}{' <b>STALE</b>' if row.stale else ''}",
        ("reachable" if row.reachable else "unreachable")
        + f"<br><span class=muted>since {_ago(row.since, now)}</span>",
        f"<code>{_e((row.applied or '-')[:12])}</code> ({sync})",
        f'<span class="{_e(row.status)}">{_e(row.status)}</span>',
        _e(row.reason) or "–",
        models,
        _ago(row.last_contact, now),
    ]
    return f'<tr class="zone{flags}" data-zone="{_e(row.zone)}">' + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def _table(region: RegionTable, now: datetime) -> str:
    head = "".join(
        f"<th>{h}</th>" for h in ("zone", "reachable", "applied", "status", "reason", "models", "last contact")
    )
    problems = "".join(f'<p class="muted">could not read: {_e(p)}</p>' for p in region.problems)
    body = "".join(_row(r, now) for r in region.rows)
    return (
        f'<h2>Region {_e(region.region)}</h2>{problems}<table id="region-{_e(region.region)}">'
        f"<tr>{head}</tr>{body}</table>"
    )


def svg_chart(
    title: str, unit: str, points: Sequence[Point], slo: float, *, width: int = 420, height: int = 160
) -> str:
    """Canary (red) and stable (blue) over time against the SLO (dashed); gaps where a track had no data."""
    left, right, top, bottom = 44, 8, 18, 22
    times = [p.at.timestamp() for p in points]
    values = [v for p in points for v in (p.canary, p.stable) if v is not None]
    high = max([*values, slo]) * 1.15 or 1.0
    t0, t1 = (min(times), max(times)) if times else (0.0, 1.0)
    span = (t1 - t0) or 1.0

    def x(t: float) -> float:
        return left + (t - t0) / span * (width - left - right)

    def y(v: float) -> float:
        return top + (1 - v / high) * (height - top - bottom)

    def path(track: str) -> str:
        d, pen = [], "M"
        for p in points:
            v = getattr(p, track)
            if v is None:
                pen = "M"
                continue
            d.append(f"{pen}{x(p.at.timestamp()):.1f},{y(v):.1f}")
            pen = "L"
        return " ".join(d)

    first = _e(points[0].at.strftime("%H:%M")) if points else ""
    last = _e(points[-1].at.strftime("%H:%M")) if points else ""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{_e(title)}"><title>{_e(title)}</title>'
        f'<text x="{left}" y="12">{_e(title)} ({_e(unit)})</text>'
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="#888"/>'
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" stroke="#888"/>'
        f'<text x="2" y="{y(high) + 10:.1f}">{high:.3g}</text><text x="2" y="{height - bottom}">0</text>'
        f'<text x="{left}" y="{height - 6}">{first}</text>'
        f'<text x="{width - right}" y="{height - 6}" text-anchor="end">{last}</text>'
        f'<line class="slo" x1="{left}" y1="{y(slo):.1f}" x2="{width - right}" y2="{y(slo):.1f}" '
        f'stroke="#6e7781" stroke-dasharray="4 3"/>'
        f'<text x="{width - right}" y="{y(slo) - 3:.1f}" text-anchor="end">SLO {slo:g}</text>'
        f'<path class="stable" d="{path("stable")}" fill="none" stroke="#0969da" stroke-width="1.5"/>'
        f'<path class="canary" d="{path("canary")}" fill="none" stroke="#cf222e" stroke-width="1.5"/>'
        "</svg>"
    )


def _panel(c: CanaryPanel) -> str:
    head = (
        f"<h3>{_e(c.model)} {_e(c.version)} in {_e(c.zone)} ({_e(c.region)}): {_e(c.phase)} {c.weight}%</h3>"
        '<p class="muted"><span style="color:#cf222e">canary</span> vs '
        '<span style="color:#0969da">stable</span>, dashed: SLO</p>'
    )
    charts = svg_chart("p95", "ms", c.p95_ms, c.slo_p95_ms) + svg_chart(
        "error rate", "%", c.error_percent, c.slo_error_percent
    )
    return f'<div class="panel canary">{head}{charts}</div>'


def _links(items: Sequence[Link], empty: str, css: str) -> str:
    if not items:
        return f'<p class="muted">{_e(empty)}</p>'
    lines = []
    for item in items:
        number = f"#{item.number} " if item.number is not None else ""
        when = f" <span class=muted>{_e(item.at.isoformat(timespec='seconds'))}</span>" if item.at else ""
        lines.append(f'<li><a href="{_href(item.url)}" rel="noreferrer">{_e(number)}{_e(item.title)}</a>{when}</li>')
    return f'<ul class="{css}">' + "".join(lines) + "</ul>"


def render_page(page: FleetPage) -> str:
    now = page.generated_at
    problems = "".join(f'<p class="muted">could not read: {_e(p)}</p>' for p in page.problems)
    canaries = "".join(_panel(c) for c in page.canaries) or '<p class="muted">no canary running</p>'
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        'img-src data:">'
        f"<title>edgeops fleet</title><style>{_STYLE}</style></head><body>"
        f"<h1>edgeops fleet</h1><p class=muted>read at {_e(now.isoformat(timespec='seconds'))}; "
        "read-only; reload to read again</p>"
        f"{problems}"
        + "".join(_table(r, now) for r in page.regions)
        + f'<h2>Canaries</h2><div id="canaries">{canaries}</div>'
        + "<h2>Open edgeops pull requests</h2>"
        + _links(page.pulls, "none open", "pulls")
        + "<h2>Last rollbacks</h2>"
        + _links(page.rollbacks, "none", "rollbacks")
        + "</body></html>"
    )
