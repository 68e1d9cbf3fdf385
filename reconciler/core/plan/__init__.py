"""Planning: what a pass would change in a zone, as immutable `Change` values, and how to show it.

changes = plan_kubernetes(rendered.manifests, live, dry_run, inventory)     # Kubernetes objects (`kube`)
steps = plan_jetstream(desired_assets, live_jetstream)                      # JetStream assets (`nats_diff`)
plan = ZonePlan(zone, revision, changes)
result = merge_zone_result(kube_result, nats_result)                        # one zone's outcome (`nats_merge`)
format_markdown([plan], region="eu-west")     # the PR comment
"""

from reconciler.core.plan.changeset import Action, Change, ChangeSet, ZonePlan
from reconciler.core.plan.compare import differs, strip, unified_diff
from reconciler.core.plan.format import escape_markdown, format_json, format_markdown, format_text, plan_to_json
from reconciler.core.plan.kube import plan_kubernetes, plan_object, plan_prune, prune_candidates
from reconciler.core.plan.nats_diff import (
    DEFAULT_DRAIN_SETTLE_S,
    DEFAULT_DRAIN_TIMEOUT_S,
    DrainPolicy,
    LiveConsumer,
    LiveJetStream,
    LiveStream,
    Op,
    Retire,
    Step,
    plan_jetstream,
    retire,
)
from reconciler.core.plan.nats_diff import SYSTEM as NATS_SYSTEM
from reconciler.core.plan.nats_merge import drain_notes, merge_zone_result, with_nats
from reconciler.core.plan.status import NatsStatus, NatsZoneResult, RetiredConsumer, ZoneResult, ZoneStatus

__all__ = [
    "DEFAULT_DRAIN_SETTLE_S",
    "DEFAULT_DRAIN_TIMEOUT_S",
    "NATS_SYSTEM",
    "Action",
    "Change",
    "ChangeSet",
    "DrainPolicy",
    "LiveConsumer",
    "LiveJetStream",
    "LiveStream",
    "NatsStatus",
    "NatsZoneResult",
    "Op",
    "Retire",
    "RetiredConsumer",
    "Step",
    "ZonePlan",
    "ZoneResult",
    "ZoneStatus",
    "differs",
    "drain_notes",
    "escape_markdown",
    "format_json",
    "format_markdown",
    "format_text",
    "merge_zone_result",
    "plan_jetstream",
    "plan_kubernetes",
    "plan_object",
    "plan_prune",
    "plan_to_json",
    "prune_candidates",
    "retire",
    "strip",
    "unified_diff",
    "with_nats",
]
