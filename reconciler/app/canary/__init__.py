"""The canary controller: analyse (Prometheus → decide) and act (git + pull requests)."""

from reconciler.app.canary.act import Bot, Proposal, checks_green, note_hold, propose, zone_path
from reconciler.app.canary.analyze import Analysis, AnalyzeOptions, analyze_region, state_of
from reconciler.app.canary.guard import GuardrailRefused, guardrail_problems, merge_guarded

__all__ = [
    "Analysis",
    "AnalyzeOptions",
    "Bot",
    "GuardrailRefused",
    "Proposal",
    "analyze_region",
    "checks_green",
    "guardrail_problems",
    "merge_guarded",
    "note_hold",
    "propose",
    "state_of",
    "zone_path",
]
