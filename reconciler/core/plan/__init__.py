"""Planning: what a pass would change in a zone, as immutable `Change` values, and how to show it."""

from reconciler.core.plan.changeset import Action, Change, ChangeSet, ZonePlan

__all__ = ["Action", "Change", "ChangeSet", "ZonePlan"]
