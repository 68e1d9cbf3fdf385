"""The fleet repository the region loop follows: a bare clone fetched with pygit2 each pass, or a local path.

A fetch that fails (remote unreachable) keeps the last good commit: the loop goes on healing drift at the
revision it already had, and says so.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from reconciler.app.reconcile.paused import History, repository_history
from reconciler.core.load import LoadResult
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


class RepoSource:
    """`url` is a clone URL or a local path of a repository; `branch` is followed."""

    def __init__(self, url: str, cache_dir: Path, branch: str = "main") -> None:
        self.url = url
        self.branch = branch
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
        except GitError as error:
            return self._stale(str(error))
        if self._last is not None and self._last[0] == tip:
            return Fetched(tip, self._last[1], fresh=True, history=self._history)
        try:
            load = load_tree(read_revision(Path(self._workspace.repo.path), tip))
        except TreeReadError as error:
            return self._stale(str(error))
        if load.spec is not None:
            self._last = (tip, load)
        # An invalid revision is returned as it is (the loop applies nothing); the last good one stays remembered.
        return Fetched(tip, load, fresh=True, history=self._history)

    def _stale(self, error: str) -> Fetched:
        if self._last is None:
            return Fetched(None, None, fresh=False, error=error)
        log.warning("fetch failed, keeping the last good commit", extra={"revision": self._last[0], "error": error})
        return Fetched(self._last[0], self._last[1], fresh=False, error=error, history=self._history)
