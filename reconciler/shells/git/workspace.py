"""A bot's clone of the fleet repository: fetch, read files at a ref, commit edits on a branch, push.

The clone is bare: the bot never checks anything out, it builds trees from the base commit and replaces the
edited blobs, so a half-finished run leaves no dirty working tree behind. Pushing a branch whose remote tip
already has the same tree is a no-op: a restart after a push does not make a new commit.

Credentials: for https remotes, the token in the environment variable named by `token_env` (default
`EDGEOPS_GIT_TOKEN`, falling back to `GITHUB_TOKEN`); local paths and file:// need none. Commits are signed with the
SSH key `EDGEOPS_GIT_SIGNING_KEY` names, when set (`signing`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

import pygit2

from reconciler.shells.git.errors import GitError, GitRefError, GitRemoteError
from reconciler.shells.git.signing import SignedCommit, create_commit, load_signing_key, signed_commit

REMOTE = "origin"
TOKEN_ENV = "EDGEOPS_GIT_TOKEN"  # noqa: S105 (the name of a variable, not a token)


def branch_for_canary(key: str, model: str) -> str:
    """The one branch for a canary's pull requests, so a restart finds its open PR again."""
    return f"edgeops/canary/{key}/{model}"


class Workspace:
    def __init__(self, repo: pygit2.Repository, url: str, token_env: str = TOKEN_ENV) -> None:
        self.repo = repo
        self.url = url
        self._token_env = token_env

    @classmethod
    def open_local(cls, path: Path) -> Workspace:
        """The repository holding `path` (a working tree or a bare repository), used as it is: nothing fetched."""
        try:
            found = pygit2.discover_repository(str(path))
            if found is None:
                raise GitRefError(f"{path} is not inside a git repository")
            return cls(pygit2.Repository(found), str(path))
        except pygit2.GitError as error:
            raise GitError(f"cannot open the git repository at {path}: {error}") from error

    @classmethod
    def open_or_clone(cls, url: str, path: Path, token_env: str = TOKEN_ENV) -> Workspace:
        try:
            if (path / "HEAD").exists():
                workspace = cls(pygit2.Repository(str(path)), url, token_env)
            else:
                path.mkdir(parents=True, exist_ok=True)
                repo = pygit2.init_repository(str(path), bare=True, initial_head="main")
                repo.remotes.create(REMOTE, url)
                workspace = cls(repo, url, token_env)
        except pygit2.GitError as error:
            raise GitError(f"cannot open or create a clone of {url} at {path}: {error}") from error
        workspace.fetch()
        return workspace

    def _callbacks(self) -> pygit2.RemoteCallbacks | None:
        token = os.environ.get(self._token_env) or os.environ.get("GITHUB_TOKEN")
        if not token or not self.url.startswith("https://"):
            return None
        return pygit2.RemoteCallbacks(credentials=pygit2.UserPass("x-access-token", token))

    def fetch(self) -> None:
        try:
            self.repo.remotes[REMOTE].fetch(
                [f"+refs/heads/*:refs/remotes/{REMOTE}/*"],
                callbacks=self._callbacks(),
                prune=pygit2.enums.FetchPrune.PRUNE,
            )
        except (pygit2.GitError, KeyError) as error:
            raise GitRemoteError(f"cannot fetch {self.url}: {error}") from error

    def fetch_pull(self, number: int) -> str | None:
        """Fetch GitHub's `refs/pull/<n>/head` (pull requests from forks have no branch here); its SHA, or None
        when the remote has no such ref."""
        ref = f"refs/remotes/{REMOTE}/pull/{number}"
        try:
            self.repo.remotes[REMOTE].fetch([f"+refs/pull/{number}/head:{ref}"], callbacks=self._callbacks())
        except pygit2.GitError:
            return None
        found = self.repo.references.get(ref)
        return None if found is None else str(found.target)

    def remote_tip(self, branch: str) -> str | None:
        ref = self.repo.references.get(f"refs/remotes/{REMOTE}/{branch}")
        return None if ref is None else str(ref.resolve().target)

    def _commit(self, rev: str) -> pygit2.Commit:
        try:
            obj = self.repo.revparse_single(rev)
            commit = obj.peel(pygit2.Commit)
        except (KeyError, ValueError, pygit2.GitError) as error:
            raise GitRefError(f"no commit {rev!r} in {self.url}") from error
        return commit

    def signed_commit(self, rev: str) -> SignedCommit:
        """The commit's signature and the payload it signs (as `git verify-commit` checks them)."""
        return signed_commit(self.repo, str(self._commit(rev).id))

    def read_bytes(self, rev: str, path: str) -> bytes | None:
        """The bytes of file `path` at `rev`, as committed (any encoding); None when it does not exist there or is
        not a file (a directory, a submodule)."""
        commit = self._commit(rev)
        try:
            blob = self.repo[commit.tree[path].id]
        except KeyError:
            return None
        data: bytes | None = blob.data if isinstance(blob, pygit2.Blob) else None
        return data

    def resolve(self, rev: str) -> str:
        """A SHA for a SHA, a local ref or `origin/<branch>`."""
        return str(self._commit(rev).id)

    def read(self, rev: str, path: str) -> str | None:
        """The text of `path` at `rev`; None when the file does not exist there."""
        data = self.read_bytes(rev, path)
        return None if data is None else data.decode("utf-8")

    def file_history(self, rev: str, path: str, limit: int) -> Iterator[tuple[datetime, str | None]]:
        """`path` at `rev` and at its first-parent ancestors, newest first, each with its commit's time (None where
        the file is absent or not a file); at most `limit` commits."""
        commit: pygit2.Commit | None = self._commit(rev)
        for _ in range(limit):
            if commit is None:
                return
            when = datetime.fromtimestamp(commit.commit_time, UTC)
            try:
                blob = self.repo[commit.tree[path].id]
            except KeyError:
                blob = None
            text = blob.data.decode("utf-8", errors="replace") if isinstance(blob, pygit2.Blob) else None
            yield when, text
            commit = commit.parents[0] if commit.parents else None

    def contains(self, later: str, earlier: str) -> bool:
        """Whether commit `later` is `earlier` or a descendant of it; False when either is unknown here."""
        if later == earlier:
            return True
        try:
            return bool(self.repo.descendant_of(later, earlier))
        except (ValueError, KeyError, pygit2.GitError):
            return False

    def merge_base(self, a: str, b: str) -> str:
        base = self.repo.merge_base(self._commit(a).id, self._commit(b).id)
        if base is None:
            raise GitRefError(f"{a} and {b} share no history")
        return str(base)

    def changed_paths(self, base: str, head: str) -> tuple[str, ...]:
        diff = self._commit(base).tree.diff_to_tree(self._commit(head).tree)
        paths = {p for d in diff.deltas for p in (d.old_file.path, d.new_file.path)}
        return tuple(sorted(paths))

    def commit_on_branch(self, branch: str, base: str, files: Mapping[str, str], message: str) -> str:
        """A commit on `base` with `files` replaced, stored as local branch `branch`; returns its SHA.

        When the remote branch already holds exactly this tree on top of the same base, its tip is reused."""
        parent = self._commit(base)
        tree = parent.tree.id
        for path, text in sorted(files.items()):
            tree = self._replace(tree, path.split("/"), self.repo.create_blob(text.encode("utf-8")))
        existing = self.remote_tip(branch)
        if existing is not None:
            tip = self._commit(existing)
            if tip.tree.id == tree and parent.id in tip.parent_ids:
                self.repo.references.create(f"refs/heads/{branch}", tip.id, force=True)
                return str(tip.id)
        name = os.environ.get("EDGEOPS_GIT_AUTHOR_NAME", "edgeops-bot")
        email = os.environ.get("EDGEOPS_GIT_AUTHOR_EMAIL", "edgeops-bot@users.noreply.github.com")
        signature = pygit2.Signature(name, email, int(time.time()), 0)
        # The local branch may point at an earlier step: write the commit first, then move the ref.
        oid = create_commit(self.repo, signature, message, tree, [parent.id], key=load_signing_key())
        self.repo.references.create(f"refs/heads/{branch}", oid, force=True)
        return str(oid)

    def _replace(self, tree_id: pygit2.Oid, parts: list[str], blob: pygit2.Oid) -> pygit2.Oid:
        tree = self.repo.get(tree_id)
        if not isinstance(tree, pygit2.Tree):
            raise GitRefError(f"{tree_id} is not a tree")
        builder = self.repo.TreeBuilder(tree)
        head, rest = parts[0], parts[1:]
        if not rest:
            builder.insert(head, blob, pygit2.enums.FileMode.BLOB)
        else:
            sub = tree[head].id if head in tree else self.repo.TreeBuilder().write()
            builder.insert(head, self._replace(sub, rest, blob), pygit2.enums.FileMode.TREE)
        return builder.write()

    def push(self, branch: str) -> None:
        """Force-push the local branch (the bot owns its branches; a rewritten step replaces the old one)."""
        try:
            self.repo.remotes[REMOTE].push([f"+refs/heads/{branch}:refs/heads/{branch}"], callbacks=self._callbacks())
        except pygit2.GitError as error:
            raise GitRemoteError(f"cannot push {branch} to {self.url}: {error}") from error
        self.fetch()
