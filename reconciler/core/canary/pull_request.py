"""What a canary pull request says: title (what and where), labels, commit message, and a body with the evidence
table per zone, the PromQL that produced it and a mermaid chart of p95 against the threshold over the window."""

from __future__ import annotations

from reconciler.core.bot import code, inline, marker, mermaid_label
from reconciler.core.canary.verdict import Decision, Verdict, ZoneEvidence
from reconciler.core.canary.waves import CanaryGroup

CANARY_MARKER = "canary"
LABELS = {
    Decision.ADVANCE: ("edgeops", "canary", "canary:step"),
    Decision.PROMOTE: ("edgeops", "canary", "canary:promote"),
    Decision.ROLLBACK: ("edgeops", "canary", "canary:rollback"),
}


def _where(group: CanaryGroup) -> str:
    zones = ", ".join(group.zones)
    return f"{zones} (wave {group.wave})" if group.wave and len(group.zones) > 1 else zones


def title(group: CanaryGroup, verdict: Verdict, *, manual: bool = False) -> str:
    what = f"{group.model} {group.version}"
    where = _where(group)
    if verdict.decision is Decision.ROLLBACK:
        return f"canary: {'abort' if manual else 'roll back'} {what} in {where}"
    if verdict.decision is Decision.PROMOTE:
        return f"canary: promote {what} to stable in {where}"
    if group.canary.phase == "shadow":
        return f"canary: {what} shadow → live {verdict.next_weight}% in {where}"
    return f"canary: {what} {group.canary.weight}% → {verdict.next_weight}% in {where}"


def labels(verdict: Verdict) -> tuple[str, ...]:
    return LABELS.get(verdict.decision, ("edgeops", "canary"))


def commit_message(group: CanaryGroup, verdict: Verdict, *, manual: bool = False) -> str:
    return f"{title(group, verdict, manual=manual)}\n\n{verdict.reason}\n"


def _number(value: float | None, unit: str = "", digits: int = 1) -> str:
    return "no data" if value is None else f"{value:.{digits}f}{unit}"


def _row(e: ZoneEvidence) -> str:
    canary, stable = e.canary, e.stable
    cells = [
        inline(e.zone),
        e.status.value,
        _number(canary.p95_latency_ms if canary else None, " ms"),
        _number(stable.p95_latency_ms if stable else None, " ms"),
        _number(e.ratio_to_stable, "x", 2),
        _number(canary.error_rate_percent if canary else None, " %", 2),
        f"{canary.requests:.0f}" if canary else "–",
        inline("; ".join(e.failures) or e.error or "–"),
    ]
    return "| " + " | ".join(cells) + " |"


def _chart(e: ZoneEvidence, threshold: float) -> list[str]:
    points = [(p.at, p.p95_latency_ms) for p in e.series if p.p95_latency_ms is not None]
    if len(points) < 2:
        return []
    values = [round(v, 2) for _, v in points]
    top = max(*values, threshold) * 1.2
    axis = ", ".join(f'"{t.strftime("%H:%M:%S")}"' for t, _ in points)
    return [
        "```mermaid",
        "xychart-beta",
        f'    title "{mermaid_label(e.zone)} canary p95 (ms) vs threshold {threshold:g} ms"',
        f"    x-axis [{axis}]",
        f'    y-axis "p95 ms" 0 --> {top:.1f}',
        f"    line [{', '.join(f'{v:g}' for v in values)}]",
        f"    line [{', '.join(f'{threshold:g}' for _ in values)}]",
        "```",
        "",
    ]


def body(group: CanaryGroup, verdict: Verdict, *, manual_by: str | None = None) -> str:
    t = verdict.thresholds
    lines = [
        marker(CANARY_MARKER),
        f"### {inline(title(group, verdict, manual=manual_by is not None))}",
        "",
        f"**Decision:** {verdict.decision.value} — {inline(verdict.reason)}",
        "",
    ]
    if manual_by is not None:
        lines += [f"Requested with a comment command by {inline(manual_by)}.", ""]
    lines += [
        f"Model {code(group.model)}: stable {code(group.stable_version)}, canary {code(group.version)} "
        f"({group.canary.phase}, weight {group.canary.weight}%), policy {code(group.policy.metadata.name)}.",
        f"Analysis window {int(verdict.window.total_seconds())} s; thresholds: p95 ≤ {t.p95_latency_ms:g} ms, "
        f"error rate ≤ {t.error_rate_percent:g} %, p95 ≤ {t.max_ratio_to_stable:g}x stable, "
        f"at least {t.min_samples} requests.",
        "",
        "| zone | result | canary p95 | stable p95 | ratio | error rate | requests | failed checks |",
        "|---|---|---|---|---|---|---|---|",
        *(_row(e) for e in verdict.evidence),
        "",
    ]
    for e in verdict.evidence:
        lines += _chart(e, t.p95_latency_ms)
    queries = [(e.zone, what, q) for e in verdict.evidence for what, q in e.queries]
    if queries:
        lines += ["<details><summary>PromQL</summary>", "", "```promql"]
        lines += [f"# {z}: {w}\n{q}" for z, w, q in queries]
        lines += ["```", "", "</details>", ""]
    lines.append("_Opened by the edgeops canary controller. Rollbacks merge at once; promotions follow the policy._")
    return "\n".join(lines) + "\n"
