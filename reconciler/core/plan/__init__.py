"""Planning: what a pass would change in a zone, as immutable `Change` values, and how to show it.

changes = plan_kubernetes(rendered.manifests, live, dry_run, inventory)
plan = ZonePlan(zone, revision, changes)
format_markdown([plan], region="eu-west")     # the PR comment
"""

from reconciler.core.plan.changeset import Action, Change, ChangeSet, ZonePlan
from reconciler.core.plan.compare import differs, strip, unified_diff
from reconciler.core.plan.format import escape_markdown, format_json, format_markdown, format_text, plan_to_json
from reconciler.core.plan.kube import plan_kubernetes, plan_object, plan_prune, prune_candidates
from reconciler.core.plan.status import ZoneResult, ZoneStatus

__all__ = [
    "Action",
    "Change",
    "ChangeSet",
    "ZonePlan",
    "ZoneResult",
    "ZoneStatus",
    "differs",
    "escape_markdown",
    "format_json",
    "format_markdown",
    "format_text",
    "plan_kubernetes",
    "plan_object",
    "plan_prune",
    "plan_to_json",
    "prune_candidates",
    "strip",
    "unified_diff",
]
