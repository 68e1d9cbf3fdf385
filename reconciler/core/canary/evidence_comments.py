"""The per-zone evidence of a canary analysis, for the bot's evidence comments on the pull request: one table row
per zone (values, result, failed checks), mermaid charts — canary vs stable p95 and error rate per analysis window
against the thresholds, and the canary's p95 over the newest window — and the PromQL that ran. It grows with the fleet, so it never goes into the pull request's body: `upsert` posts it as
comments split under GitHub's limit (`with_parts`), marked so that a rerun edits them in place.

Every user-controlled string is bounded (`clip`) and escaped (`inline`, `mermaid_label`, or verbatim inside a
code block `fenced` so it cannot close it), so no row is longer than a part and nothing in it renders as HTML or
pings anybody.
"""

from __future__ import annotations

from collections.abc import Callable

from reconciler.core.bot import clip, fenced, inline, mermaid_label
from reconciler.core.canary.measurements import TrackSample
from reconciler.core.canary.verdict import Thresholds, Verdict, ZoneEvidence

EVIDENCE_MARKER = "canary:evidence"  # the analysis a pull request proposes
LATEST_EVIDENCE_MARKER = "canary:latest-evidence"  # the latest analysis while the canary holds
ZONE_CHARS = 100  # a zone name as shown; longer ones are clipped with an ellipsis
CHECKS_CHARS = 300  # a zone's failed checks (or its measurement error) in its row
QUERY_CHARS = 4_000  # one PromQL query
CHART_POINTS = 120  # the newest points of a zone's p95 series that are charted
TABLE_HEADER = (
    "| zone | result | canary p95 | stable p95 | ratio | error rate | requests | failed checks |",
    "|---|---|---|---|---|---|---|---|",
)


def _number(value: float | None, unit: str = "", digits: int = 1) -> str:
    return "no data" if value is None else f"{value:.{digits}f}{unit}"


def zone_name(zone: str) -> str:
    """A zone's name as every canary text shows it: bounded, escaped."""
    return inline(clip(zone, ZONE_CHARS))


def checks(e: ZoneEvidence, limit: int = CHECKS_CHARS) -> str:
    """What failed in a zone (or why it could not be measured), bounded and escaped; `–` when nothing did."""
    return inline(clip("; ".join(e.failures) or e.error or "–", limit))


def evidence_row(e: ZoneEvidence) -> str:
    canary, stable = e.canary, e.stable
    cells = [
        zone_name(e.zone),
        e.status.value,
        _number(canary.p95_latency_ms if canary else None, " ms"),
        _number(stable.p95_latency_ms if stable else None, " ms"),
        _number(e.ratio_to_stable, "x", 2),
        _number(canary.error_rate_percent if canary else None, " %", 2),
        f"{canary.requests:.0f}" if canary else "–",
        checks(e),
    ]
    return "| " + " | ".join(cells) + " |"


def _chart(e: ZoneEvidence, threshold: float) -> list[str]:
    points = [(p.at, p.p95_latency_ms) for p in e.series if p.p95_latency_ms is not None][-CHART_POINTS:]
    if len(points) < 2:
        return []
    values = [round(v, 2) for _, v in points]
    top = max(*values, threshold) * 1.2
    axis = ", ".join(f'"{t.time().isoformat("seconds")}"' for t, _ in points)
    return [
        "```mermaid",
        "xychart-beta",
        f'    title "{mermaid_label(e.zone)} canary p95 (ms) vs threshold {threshold:g} ms"',
        f"    x-axis [{axis}]",
        f'    y-axis "p95 ms" 0 --> {top:.1f}',
        f"    line [{', '.join(f'{v:g}' for v in values)}]",
        f"    line [{', '.join(f'{threshold:g}' for _ in values)}]",
        "```",
    ]


def _values(values: list[float]) -> str:
    return ", ".join(f"{v:g}" for v in values)


def _window_chart(
    e: ZoneEvidence, what: str, unit: str, threshold: float, value: Callable[[TrackSample], float | None]
) -> list[str]:
    """Canary (bars) vs stable (line) per analysis window, oldest first, with the threshold (line). Windows where
    either track has no data are left out: mermaid has no gaps, and a gap drawn as zero would read as perfect."""
    points = [
        (w.end, c, s)
        for w in reversed(e.windows)
        if (c := value(w.canary)) is not None and (s := value(w.stable)) is not None
    ][-CHART_POINTS:]
    if not points:
        return []
    canary = [round(c, 3) for _, c, _ in points]
    stable = [round(s, 3) for _, _, s in points]
    top = max(*canary, *stable, threshold) * 1.2 or 1.0
    axis = ", ".join(f'"{t.time().isoformat("seconds")}"' for t, _, _ in points)
    return [
        "```mermaid",
        "xychart-beta",
        f'    title "{mermaid_label(e.zone)} {what} per window: bars canary, lines stable and threshold {threshold:g}"',
        f"    x-axis [{axis}]",
        f'    y-axis "{what} {unit}" 0 --> {top:.3g}',
        f"    bar [{_values(canary)}]",
        f"    line [{_values(stable)}]",
        f"    line [{_values([threshold] * len(points))}]",
        "```",
    ]


def window_charts(e: ZoneEvidence, thresholds: Thresholds) -> list[str]:
    """The p95 and error-rate charts of a zone's analysis windows (none without a window with both tracks)."""
    return _window_chart(e, "p95", "ms", thresholds.p95_latency_ms, lambda t: t.p95_latency_ms) + _window_chart(
        e, "error rate", "%", thresholds.error_rate_percent, lambda t: t.error_rate_percent
    )


def _queries(e: ZoneEvidence) -> list[str]:
    if not e.queries:
        return []
    text = "\n".join(f"# {' '.join(what.split())}\n{clip(query, QUERY_CHARS)}" for what, query in e.queries)
    return [fenced(text, "promql")]


def evidence(heading: str, verdict: Verdict) -> str:
    """The evidence of `verdict` under `heading` (already escaped): the table of every zone, then each zone's
    chart and queries. Only blank lines between zones: a split keeps a zone's heading, chart and queries together."""
    t = verdict.thresholds
    when = f" at {verdict.decided_at.isoformat(timespec='seconds')}" if verdict.decided_at else ""
    lines = [
        f"### {heading}",
        "",
        f"Analysis{when} over {int(verdict.window.total_seconds())} s, {len(verdict.evidence)} zones; thresholds: "
        f"p95 ≤ {t.p95_latency_ms:g} ms, error rate ≤ {t.error_rate_percent:g} %, "
        f"p95 ≤ {t.max_ratio_to_stable:g}x stable, at least {t.min_samples} requests.",
        "",
        *TABLE_HEADER,
        *(evidence_row(e) for e in verdict.evidence),
        "",
    ]
    for e in verdict.evidence:
        details = window_charts(e, t) + _chart(e, t.p95_latency_ms) + _queries(e)
        if details:
            lines += [f"#### {zone_name(e.zone)}", *details, ""]
    return "\n".join(lines) + "\n"
