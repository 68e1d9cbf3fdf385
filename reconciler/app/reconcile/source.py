"""The fleet repository the region loop follows: a bare clone fetched with pygit2 each pass, or a local path.

A fetch that fails (remote unreachable) keeps the last good commit: the loop goes on healing drift at the
revision it already had, and says so. When the fleet asks for signed commits (`trust`), a branch tip that is not
signed by a trusted key is not applied: the newest verified commit is, and `Fetched.refusal` says why.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path

from reconciler.app.reconcile.paused import History, repository_history
from reconciler.app.reconcile.trust import CommitTrust, TrustDecision
from reconciler.core.load import LoadResult
from reconciler.core.plan import ZoneResult
from reconciler.shells.git import GitError, Workspace
from reconciler.shells.tree import TreeReadError, read_revision

log = logging.getLogger("edgeops.reconcile")


@dataclass(frozen=True)
class Fetched:
    revision: str | None  # None: nothing has ever been fetched
    load: LoadResult | None
    fresh: bool  # False when the fetch failed and this is the last good commit
    error: str | None = None
    history: History | None = None  # the desired state at other commits (what paused zones keep)
    refusal: TrustDecision | None = None  # the branch tip was not applied: why (`revision` is what is instead)

    def noted(self, result: ZoneResult) -> ZoneResult:
        """A zone's result, its message saying why the branch tip was not applied (when it was not)."""
        note = self.refusal.note if self.refusal is not None else None
        if not note:
            return result
        return dataclasses.replace(result, message=f"{note}; {result.message}" if result.message else note)


class RepoSource:
    """`url` is a clone URL or a local path of a repository; `branch` is followed."""

    def __init__(self, url: str, cache_dir: Path, branch: str = "main", trust: CommitTrust | None = None) -> None:
        self.url = url
        self.branch = branch
        self._trust = trust or CommitTrust()
        self._cache = cache_dir
        self._workspace: Workspace | None = None
        self._last: tuple[str, LoadResult] | None = None
        self._history: History | None = None

    def fetch(self) -> Fetched:
        from reconciler.core.load import load_tree

        try:
            if self._workspace is None:
                self._workspace = Workspace.open_or_clone(self.url, self._cache)
                self._history = repository_history(Path(self._workspace.repo.path))
            else:
                self._workspace.fetch()
            tip = self._workspace.remote_tip(self.branch)
            if tip is None:
                raise GitError(f"{self.url} has no branch {self.branch!r}")
            decision = self._trust.decide(self._workspace, tip)
        except GitError as error:
            return self._stale(str(error))
        refusal = None if decision.accepted else decision
        if refusal is not None:
            log.warning("branch tip not verified", extra={"revision": tip, "detail": refusal.note})
        revision = decision.apply
        if revision is None:
            return Fetched(None, None, fresh=True, error=decision.note, refusal=refusal)
        if self._last is not None and self._last[0] == revision:
            return Fetched(revision, self._last[1], fresh=True, history=self._history, refusal=refusal)
        try:
            load = load_tree(read_revision(Path(self._workspace.repo.path), revision))
        except TreeReadError as error:
            return self._stale(str(error))
        if load.spec is not None:
            self._last = (revision, load)
        # An invalid revision is returned as it is (the loop applies nothing); the last good one stays remembered.
        return Fetched(revision, load, fresh=True, history=self._history, refusal=refusal)

    def _stale(self, error: str) -> Fetched:
        if self._last is None:
            return Fetched(None, None, fresh=False, error=error)
        log.warning("fetch failed, keeping the last good commit", extra={"revision": self._last[0], "error": error})
        return Fetched(self._last[0], self._last[1], fresh=False, error=error, history=self._history)
