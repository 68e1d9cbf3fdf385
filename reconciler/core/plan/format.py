"""Printing plans: text for terminals, JSON for tools, markdown for the pull-request comment.

Everything in a plan that comes from the repository (zone, object and model names, diffs) is user-controlled:
markdown escapes it, and diffs sit in code fences longer than any backtick run inside them, so a YAML value cannot
close the fence or inject HTML into the comment.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from typing import Any

from reconciler.core.plan.changeset import Action, Change, ZonePlan

# GitHub refuses comments over 65,536 characters; leave room for the header and the other zones.
MAX_DIFF_CHARS = 6000
MARKDOWN_LIMIT = 60000
_SYMBOL = {
    Action.CREATE: "+",
    Action.CONFIGURE: "~",
    Action.UNCHANGED: "=",
    Action.PRUNE: "-",
    Action.SKIP_FOREIGN: "!",
}
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")


def _systems(plan: ZonePlan) -> list[tuple[str, tuple[Change, ...]]]:
    return [("kubernetes", plan.kubernetes.changes), *((n, c.changes) for n, c in plan.systems)]


# ---------------------------------------------------------------------------------------------- text


def format_text(plans: Sequence[ZonePlan], *, show_unchanged: bool = False, diffs: bool = True) -> str:
    out: list[str] = []
    for plan in plans:
        revision = (plan.revision or "unknown")[:12]
        if plan.error:
            out.append(f"zone {plan.zone} @ {revision}: ERROR {plan.error}")
            continue
        out.append(f"zone {plan.zone} @ {revision}: {plan.all_changes.summary()}")
        for system, changes in _systems(plan):
            for change in changes:
                if change.action is Action.UNCHANGED and not show_unchanged:
                    continue
                where = "" if system == "kubernetes" else f"[{system}] "
                detail = f"  ({change.detail})" if change.detail else ""
                out.append(f"  {_SYMBOL[change.action]} {where}{change.action.value:<12} {change.ref}{detail}")
                if diffs and change.diff and change.action is Action.CONFIGURE:
                    out.extend(f"      {line}" for line in change.diff.rstrip("\n").splitlines())
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------- json


def plan_to_json(plan: ZonePlan) -> dict[str, Any]:
    return {
        "zone": plan.zone,
        "revision": plan.revision,
        "error": plan.error,
        "pending": plan.pending,
        "counts": {a.value: n for a, n in plan.all_changes.counts().items()},
        "changes": [
            {
                "system": system,
                "action": c.action.value,
                "kind": c.kind,
                "namespace": c.namespace,
                "name": c.name,
                "detail": c.detail,
                "diff": c.diff,
            }
            for system, changes in _systems(plan)
            for c in changes
        ],
    }


def format_json(plans: Sequence[ZonePlan], *, region: str | None = None) -> str:
    document = {"region": region, "zones": [plan_to_json(p) for p in plans]}
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


# ---------------------------------------------------------------------------------------------- markdown


def escape_markdown(text: str) -> str:
    """Inline text: HTML-escaped, markdown punctuation backslash-escaped, no line breaks."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(" ".join(text.split()), quote=True))


def _fence(content: str) -> str:
    longest = max((len(m) for m in re.findall(r"`+", content)), default=0)
    return "`" * max(3, longest + 1)


def _diff_block(change: Change) -> str:
    diff = change.diff
    if len(diff) > MAX_DIFF_CHARS:
        diff = diff[:MAX_DIFF_CHARS] + f"\n... diff truncated ({len(change.diff)} characters in all)\n"
    fence = _fence(diff)
    summary = f"{change.action.value} <code>{html.escape(change.ref)}</code>"
    return f"<details><summary>{summary}</summary>\n\n{fence}diff\n{diff.rstrip()}\n{fence}\n\n</details>"


def format_markdown(plans: Sequence[ZonePlan], *, region: str | None = None, revision: str | None = None) -> str:
    title = "### edgeops plan"
    if region:
        title += f" for region {escape_markdown(region)}"
    if revision:
        title += f" at `{escape_markdown(revision[:12])}`"
    pending = sum(p.pending for p in plans)
    errors = sum(p.error is not None for p in plans)
    out = [title, "", f"{len(plans)} zone(s): {pending} with changes, {errors} with errors.", ""]
    for plan in plans:
        out += _zone_markdown(plan)
    text = "\n".join(out) + "\n"
    if len(text) > MARKDOWN_LIMIT:
        text = text[:MARKDOWN_LIMIT] + "\n\n_Plan truncated: run `edgeops plan` for the full output._\n"
    return text


def _zone_markdown(plan: ZonePlan) -> list[str]:
    zone = escape_markdown(plan.zone)
    if plan.error:
        return [f"#### :x: {zone}", "", f"Could not plan: {escape_markdown(plan.error)}", ""]
    icon = ":arrows_counterclockwise:" if plan.pending else ":white_check_mark:"
    out = [f"#### {icon} {zone}", "", escape_markdown(plan.all_changes.summary()), ""]
    visible = [(s, c) for s, changes in _systems(plan) for c in changes if c.action is not Action.UNCHANGED]
    if not visible:
        return [*out, "No changes.", ""]
    out += ["| | action | object | note |", "|---|---|---|---|"]
    for system, change in visible:
        where = "" if system == "kubernetes" else f"{escape_markdown(system)}: "
        out.append(
            f"| {_SYMBOL[change.action]} | {change.action.value} | {where}{escape_markdown(change.ref)} "
            f"| {escape_markdown(change.detail)} |"
        )
    out.append("")
    out += [_diff_block(c) for _, c in visible if c.diff and c.action in (Action.CREATE, Action.CONFIGURE)]
    out.append("")
    return out
