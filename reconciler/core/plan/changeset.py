"""The change set of one reconcile pass, as immutable values.

A `Change` says what happens to one object of one system: Kubernetes objects here, JetStream assets or anything
else a shell reconciles, using the same vocabulary so plans, logs and PR comments read alike:

    create        the object does not exist yet and will be created
    configure     it exists and differs from the desired state (the diff says how)
    unchanged     it exists and equals the desired state: nothing is written
    prune         we created it earlier, it is no longer desired, and it will be deleted
    skip-foreign  an object with one of our names exists but is not ours: never touched, only reported
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum


class Action(StrEnum):
    CREATE = "create"
    CONFIGURE = "configure"
    UNCHANGED = "unchanged"
    PRUNE = "prune"
    SKIP_FOREIGN = "skip-foreign"

    @property
    def writes(self) -> bool:
        """Whether applying this change sends a write to the system."""
        return self in (Action.CREATE, Action.CONFIGURE, Action.PRUNE)


@dataclass(frozen=True, order=True)
class Change:
    """One object's fate. `kind` is the object's kind (e.g. 'Deployment', 'Stream'); `namespace` is '' for
    cluster-scoped objects or systems without namespaces; `diff` is a unified diff ('' when there is none)."""

    action: Action
    kind: str
    namespace: str
    name: str
    diff: str = ""
    system: str = "kubernetes"
    detail: str = ""

    @property
    def ref(self) -> str:
        """`Kind/namespace/name` (or `Kind/name`), the way the plan and logs name an object."""
        return f"{self.kind}/{self.namespace}/{self.name}" if self.namespace else f"{self.kind}/{self.name}"


@dataclass(frozen=True)
class ChangeSet:
    """Changes in the order they will be carried out."""

    changes: tuple[Change, ...] = ()

    def __iter__(self) -> Iterator[Change]:
        return iter(self.changes)

    def __len__(self) -> int:
        return len(self.changes)

    def __add__(self, other: ChangeSet) -> ChangeSet:
        return ChangeSet(self.changes + other.changes)

    @classmethod
    def of(cls, changes: Iterable[Change]) -> ChangeSet:
        return cls(tuple(changes))

    def with_action(self, *actions: Action) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.action in actions)

    @property
    def pending(self) -> bool:
        """Whether carrying this set out would write anything."""
        return any(c.action.writes for c in self.changes)

    def counts(self) -> dict[Action, int]:
        counted = Counter(c.action for c in self.changes)
        return {action: counted.get(action, 0) for action in Action}

    def summary(self) -> str:
        """'2 to create, 1 to configure, 5 unchanged, 0 to prune, 1 foreign (skipped)'."""
        n = self.counts()
        return (
            f"{n[Action.CREATE]} to create, {n[Action.CONFIGURE]} to configure, {n[Action.UNCHANGED]} unchanged, "
            f"{n[Action.PRUNE]} to prune, {n[Action.SKIP_FOREIGN]} foreign (skipped)"
        )


@dataclass(frozen=True)
class ZonePlan:
    """Everything one zone's pass would do. `kubernetes` is filled by the Kubernetes planner; other systems
    (e.g. NATS JetStream assets) add their change sets under their own name in `systems`. `error` is set when
    the zone could not be planned (e.g. unreachable); its changes are then empty and nothing may be pruned."""

    zone: str
    revision: str | None
    kubernetes: ChangeSet = field(default_factory=ChangeSet)
    systems: tuple[tuple[str, ChangeSet], ...] = ()
    error: str | None = None

    def with_system(self, name: str, changes: ChangeSet) -> ZonePlan:
        others = tuple((n, c) for n, c in self.systems if n != name)
        return ZonePlan(self.zone, self.revision, self.kubernetes, (*others, (name, changes)), self.error)

    @property
    def all_changes(self) -> ChangeSet:
        total = self.kubernetes
        for _, changes in self.systems:
            total = total + changes
        return total

    @property
    def pending(self) -> bool:
        return self.all_changes.pending
