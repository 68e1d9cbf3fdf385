"""What a canary pull request says: title (what and where, under GitHub's 256 characters), labels, commit
message, and a body that is a bounded summary — decision, reason, thresholds, zones per result, the failing zones
named up to a bound, and where the evidence is. The per-zone evidence (table, charts, PromQL) grows with the fleet
and goes into the evidence comments (`evidence_comments`); the body fits GitHub's 65,536 characters whatever the
number of zones or the length of any name, reason or query."""

from __future__ import annotations

from collections import Counter

from reconciler.core.bot import TITLE_LIMIT, clip, code, inline, marker, with_parts
from reconciler.core.canary.evidence_comments import (
    EVIDENCE_MARKER,
    LATEST_EVIDENCE_MARKER,
    checks,
    evidence,
    zone_name,
)
from reconciler.core.canary.verdict import Decision, Verdict, WindowStatus
from reconciler.core.canary.waves import CanaryGroup

CANARY_MARKER = "canary"
LATEST_MARKER = "canary:latest"  # the latest analysis on an open pull request while the canary holds
LABELS = {
    Decision.ADVANCE: ("edgeops", "canary", "canary:step"),
    Decision.PROMOTE: ("edgeops", "canary", "canary:promote"),
    Decision.ROLLBACK: ("edgeops", "canary", "canary:rollback"),
}
# Bounds of the body: with every string at its bound and escaped at its longest (6 characters for one), the
# body stays under 45,000 characters.
NAMED_ZONES = 20  # failing zones named in the body; the rest are counted
REASON_CHARS = 2_000
NAME_CHARS = 100  # model, versions, policy, the login of who asked
NAMED_CHECKS_CHARS = 120  # a named failing zone's failed checks
FAILING = (WindowStatus.FAIL, WindowStatus.ERROR)


def _where(group: CanaryGroup, *, brief: bool) -> str:
    if brief:
        count = f"{len(group.zones)} zones"
        return f"{count} (wave {group.wave})" if group.wave else count
    zones = ", ".join(group.zones)
    return f"{zones} (wave {group.wave})" if group.wave and len(group.zones) > 1 else zones


def _title(group: CanaryGroup, verdict: Verdict, where: str, manual: bool) -> str:
    what = f"{group.model} {group.version}"
    if verdict.decision is Decision.ROLLBACK:
        return f"canary: {'abort' if manual else 'roll back'} {what} in {where}"
    if verdict.decision is Decision.PROMOTE:
        return f"canary: promote {what} to stable in {where}"
    if verdict.decision is Decision.HOLD:
        step = "in shadow" if group.canary.phase == "shadow" else f"at {group.canary.weight}%"
        return f"canary: {what} holds {step} in {where}"
    if group.canary.phase == "shadow":
        return f"canary: {what} shadow → live {verdict.next_weight}% in {where}"
    return f"canary: {what} {group.canary.weight}% → {verdict.next_weight}% in {where}"


def title(group: CanaryGroup, verdict: Verdict, *, manual: bool = False) -> str:
    """What and where; a wave too long to list is counted, and anything still too long is cut with an ellipsis
    under GitHub's limit on a title."""
    full = _title(group, verdict, _where(group, brief=False), manual)
    if len(full) <= TITLE_LIMIT:
        return full
    return clip(_title(group, verdict, _where(group, brief=True), manual), TITLE_LIMIT)


def labels(verdict: Verdict) -> tuple[str, ...]:
    return LABELS.get(verdict.decision, ("edgeops", "canary"))


def commit_message(group: CanaryGroup, verdict: Verdict, *, manual: bool = False) -> str:
    return f"{title(group, verdict, manual=manual)}\n\n{verdict.reason}\n"


def _evidence_heading(group: CanaryGroup, verdict: Verdict, *, hold: bool = False) -> str:
    what = "Latest analysis" if hold else "Canary evidence"
    return f"{what}: {inline(title(group, verdict).removeprefix('canary: '))}"


def evidence_text(group: CanaryGroup, verdict: Verdict, *, hold: bool = False) -> tuple[str, str]:
    """(marker name, text) of the evidence comments for `verdict`: the proposal's, or the latest hold's."""
    name = LATEST_EVIDENCE_MARKER if hold else EVIDENCE_MARKER
    return name, evidence(_evidence_heading(group, verdict, hold=hold), verdict)


def _results(verdict: Verdict) -> list[str]:
    counts = Counter(e.status for e in verdict.evidence)
    lines = [", ".join(f"{n} {status.value}" for status, n in sorted(counts.items())) or "no zones", ""]
    failing = [e for e in verdict.evidence if e.status in FAILING]
    if failing:
        lines += [
            "Failing zones:",
            *(f"- {zone_name(e.zone)}: {checks(e, NAMED_CHECKS_CHARS)}" for e in failing[:NAMED_ZONES]),
        ]
        if len(failing) > NAMED_ZONES:
            lines.append(f"- and {len(failing) - NAMED_ZONES} more (see the evidence)")
        lines.append("")
    return lines


def body(group: CanaryGroup, verdict: Verdict, *, manual_by: str | None = None, hold: bool = False) -> str:
    """The pull request's body (or, with `hold`, the latest-analysis comment): a summary under GitHub's limit."""
    t = verdict.thresholds
    name, text = evidence_text(group, verdict, hold=hold)
    parts = len(with_parts(name, text))
    lines = [marker(LATEST_MARKER if hold else CANARY_MARKER)]
    if hold:
        reason = verdict.hold_reason.value if verdict.hold_reason else "hold"
        lines += [f"**Latest analysis: hold ({reason})**", ""]
    lines += [
        f"### {inline(title(group, verdict, manual=manual_by is not None))}",
        "",
        f"**Decision:** {verdict.decision.value} — {inline(clip(verdict.reason, REASON_CHARS))}",
        "",
    ]
    if manual_by is not None:
        lines += [f"Requested with a comment command by {inline(clip(manual_by, NAME_CHARS))}.", ""]
    model, stable, version, policy = (
        code(clip(v, NAME_CHARS))
        for v in (group.model, group.stable_version, group.version, group.policy.metadata.name)
    )
    lines += [
        f"Model {model}: stable {stable}, canary {version} "
        f"({group.canary.phase}, weight {group.canary.weight}%), policy {policy}.",
        f"Analysis window {int(verdict.window.total_seconds())} s; thresholds: p95 ≤ {t.p95_latency_ms:g} ms, "
        f"error rate ≤ {t.error_rate_percent:g} %, p95 ≤ {t.max_ratio_to_stable:g}x stable, "
        f"at least {t.min_samples} requests.",
        "",
        f"**Zones ({len(verdict.evidence)}):** " + "\n".join(_results(verdict)),
        f"Per-zone evidence — a row per zone, p95 charts and the PromQL that ran — is in the bot's "
        f"{'comment' if parts == 1 else f'{parts} comments'} headed *{'Latest analysis' if hold else 'Canary evidence'}* "
        "on this pull request, edited in place by every analysis.",
        "",
    ]
    if not hold:
        lines.append(
            "_Opened by the edgeops canary controller. Rollbacks merge at once; promotions follow the policy._"
        )
    return "\n".join(lines) + "\n"
