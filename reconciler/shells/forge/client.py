"""The repository's forge (GitHub or GitHub Enterprise) through github3.py: pull requests found by head branch,
comments edited in place, labels, merges, commit statuses and collaborator permissions.

The token comes from the environment (`EDGEOPS_GITHUB_TOKEN`, else `GITHUB_TOKEN`), never from arguments on a
command line or from git.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import github3
import requests
from github3.exceptions import ConnectionError as GitHubConnectionError
from github3.exceptions import GitHubError
from github3.repos.status import CombinedStatus

from reconciler.core.bot import clip
from reconciler.shells.forge.errors import (
    ForgeAuthError,
    ForgeConflict,
    ForgeError,
    ForgeInvalid,
    ForgeNotFound,
    ForgeUnreachable,
    MergeRefused,
    PullRequestExists,
)

T = TypeVar("T")
STATUS_LIMIT = 140  # GitHub refuses a status description longer than this with a 422
TOKEN_VARIABLES = ("EDGEOPS_GITHUB_TOKEN", "GITHUB_TOKEN")


def token_from_environment() -> str:
    for name in TOKEN_VARIABLES:
        if os.environ.get(name):
            return os.environ[name]
    raise ForgeAuthError(f"no forge token: set {' or '.join(TOKEN_VARIABLES)}")


@dataclass(frozen=True)
class PullInfo:
    number: int
    url: str
    title: str
    body: str
    author: str
    state: str
    merged: bool
    head_ref: str
    head_sha: str
    base_ref: str
    base_sha: str
    labels: tuple[str, ...]


@dataclass(frozen=True)
class CommentInfo:
    id: int
    author: str
    body: str


def _describe(detail: Mapping[str, object]) -> str:
    where = ".".join(str(detail[k]) for k in ("resource", "field") if detail.get(k))
    code = f" ({detail['code']})" if detail.get("code") else ""
    text = f": {detail['message']}" if detail.get("message") else ""
    return f"{where}{code}{text}".strip() or "unspecified"


def _unprocessable(what: str, error: GitHubError) -> ForgeError:
    """A 422: an open pull request from the same head (`PullRequestExists`), or refused input (`ForgeInvalid`)."""
    # GitHub sends objects in `errors`; a few endpoints send plain strings.
    details = tuple(
        d if isinstance(d, Mapping) else {"message": str(d)} for d in (getattr(error, "errors", None) or ())
    )
    message = str(getattr(error, "msg", "") or "")
    text = f"{what}: 422 {message}" + "".join(f"; {_describe(d)}" for d in details)
    if any(str(d.get("message", "")).startswith("A pull request already exists") for d in details):
        return PullRequestExists(text)
    return ForgeInvalid(text, message=message, errors=details)


def _guard(what: str, call: Callable[[], T]) -> T:
    try:
        return call()
    except GitHubConnectionError as error:
        raise ForgeUnreachable(f"{what}: the forge did not answer: {error}") from error
    except requests.RequestException as error:
        raise ForgeUnreachable(f"{what}: {error}") from error
    except GitHubError as error:
        status = getattr(error, "code", None) or getattr(getattr(error, "response", None), "status_code", 0)
        if int(status or 0) == 422:
            raise _unprocessable(what, error) from error
        message = f"{what}: {status} {getattr(error, 'msg', '') or error}"
        kind: type[ForgeError] = {
            401: ForgeAuthError,
            403: ForgeAuthError,
            404: ForgeNotFound,
            405: MergeRefused,
            409: ForgeConflict,
        }.get(int(status or 0), ForgeError)
        raise kind(message) from error


class Forge:
    """One repository on GitHub (`url=None`) or GitHub Enterprise (`url` = the server's base URL)."""

    def __init__(self, owner: str, name: str, *, url: str | None = None, token: str | None = None) -> None:
        token = token or token_from_environment()
        self.gh: Any = github3.GitHubEnterprise(url, token=token) if url else github3.GitHub(token=token)
        self.owner, self.name = owner, name
        self._repo: Any = None
        self._me: str | None = None

    @property
    def repo(self) -> Any:
        if self._repo is None:
            repo = _guard(f"read {self.owner}/{self.name}", lambda: self.gh.repository(self.owner, self.name))
            if repo is None:
                raise ForgeNotFound(f"no repository {self.owner}/{self.name}")
            self._repo = repo
        return self._repo

    def me(self) -> str:
        """The login the token belongs to (the bot's identity for the authorship guardrail).

        `EDGEOPS_BOT_LOGIN` overrides the look-up: a GitHub Actions token may not read `/user`; its pull requests
        are authored by `github-actions[bot]`."""
        if self._me is None and os.environ.get("EDGEOPS_BOT_LOGIN"):
            self._me = os.environ["EDGEOPS_BOT_LOGIN"]
        if self._me is None:
            self._me = str(_guard("read the authenticated user", self.gh.me).login)
        return self._me

    # ------------------------------------------------------------------ pull requests

    @staticmethod
    def _info(pr: Any) -> PullInfo:
        return PullInfo(
            number=int(pr.number),
            url=str(pr.html_url),
            title=str(pr.title),
            body=str(pr.body or ""),
            author=str(pr.user.login),
            state=str(pr.state),
            merged=bool(getattr(pr, "merged", False)),
            head_ref=str(pr.head.ref),
            head_sha=str(pr.head.sha),
            base_ref=str(pr.base.ref),
            base_sha=str(pr.base.sha),
            labels=tuple(str(label["name"]) for label in (pr.labels or ())),
        )

    def pull(self, number: int) -> PullInfo:
        pr = _guard(f"read pull request #{number}", lambda: self.repo.pull_request(number))
        if pr is None:
            raise ForgeNotFound(f"no pull request #{number}")
        return self._info(pr)

    def find_open_pull(self, branch: str) -> PullInfo | None:
        """The open pull request whose head is `branch` in this repository (at most one exists)."""
        found = _guard(
            f"list pull requests from {branch}",
            lambda: list(self.repo.pull_requests(state="open", head=f"{self.owner}:{branch}")),
        )
        return self.pull(int(found[0].number)) if found else None

    def pulls(self, state: str = "open", limit: int = 30) -> tuple[PullInfo, ...]:
        """The newest pull requests in `state` (open, closed, all), as listed (no per-pull reads)."""
        found = _guard(f"list {state} pull requests", lambda: list(self.repo.pull_requests(state=state, number=limit)))
        return tuple(self._info(p) for p in found[:limit])

    def find_latest_pull(self, branch: str) -> PullInfo | None:
        """The newest pull request, open, closed or merged, whose head is `branch` in this repository."""
        found = _guard(
            f"list pull requests from {branch}",
            lambda: list(self.repo.pull_requests(state="all", head=f"{self.owner}:{branch}")),
        )
        return self.pull(max(int(p.number) for p in found)) if found else None

    def open_or_update_pull(
        self, *, branch: str, base: str, title: str, body: str, labels: Sequence[str] = ()
    ) -> tuple[PullInfo, bool]:
        """Update the open PR from `branch`, or open one. Returns (pull request, created?). Never duplicates:
        if another run opened it between our look-up and our create, GitHub's "already exists" sends us back to
        update. Any other refusal (a body or title over GitHub's limits, an unknown base) raises `ForgeInvalid`."""
        existing = self.find_open_pull(branch)
        created = False
        if existing is None:
            try:
                _guard(
                    f"open a pull request from {branch}",
                    lambda: self.repo.create_pull(title=title, base=base, head=branch, body=body),
                )
                created = True
            except PullRequestExists:
                pass
            existing = self.find_open_pull(branch)
            if existing is None:
                raise ForgeError(f"the pull request from {branch} was neither found nor created")
        if not created and (existing.title != title or existing.body != body):
            pr = _guard(f"read pull request #{existing.number}", lambda: self.repo.pull_request(existing.number))
            _guard(f"update pull request #{existing.number}", lambda: pr.update(title=title, body=body))
        if labels and not set(labels) <= set(existing.labels):
            issue = _guard(f"read issue #{existing.number}", lambda: self.repo.issue(existing.number))
            _guard(f"label #{existing.number}", lambda: issue.add_labels(*labels))
        return self.pull(existing.number), created

    def merge(self, number: int, *, sha: str, message: str) -> str:
        """Merge at exactly `sha` (a PR that moved since we looked is not merged). Returns the merge commit."""
        pr = _guard(f"read pull request #{number}", lambda: self.repo.pull_request(number))
        _guard(f"merge pull request #{number}", lambda: pr.merge(commit_message=message, sha=sha))
        merged = self.pull(number)
        if not merged.merged:
            raise MergeRefused(f"pull request #{number} was not merged")
        return merged.base_sha

    def branch_tip(self, branch: str) -> str | None:
        """The commit a branch points at on the forge (git refs API); None when there is no such branch."""
        try:
            ref = _guard(f"read branch {branch}", lambda: self.repo.ref(f"heads/{branch}"))
        except ForgeNotFound:
            return None
        return None if ref is None else str(ref.object.sha)

    # ------------------------------------------------------------------ statuses

    def combined_status(self, sha: str) -> tuple[str, dict[str, str]]:
        """('success' | 'pending' | 'failure', {context: state}) for a commit."""

        def read() -> Any:
            url = self.repo._build_url("commits", sha, "status", base_url=self.repo._api)
            return CombinedStatus(self.repo._json(self.repo._get(url), 200), self.repo.session)

        combined = _guard(f"read the status of {sha[:12]}", read)
        return str(combined.state), {str(s.context): str(s.state) for s in combined.statuses}

    def set_status(
        self, sha: str, *, context: str, state: str, description: str, target_url: str | None = None
    ) -> None:
        _guard(
            f"set status {context} on {sha[:12]}",
            lambda: self.repo.create_status(
                sha, state, target_url=target_url, description=clip(description, STATUS_LIMIT), context=context
            ),
        )

    # ------------------------------------------------------------------ comments

    def comments(self, number: int) -> tuple[CommentInfo, ...]:
        issue = _guard(f"read issue #{number}", lambda: self.repo.issue(number))
        found = _guard(f"list comments of #{number}", lambda: list(issue.comments()))
        return tuple(CommentInfo(int(c.id), str(c.user.login), str(c.body)) for c in found)

    def comment(self, number: int, body: str) -> int:
        issue = _guard(f"read issue #{number}", lambda: self.repo.issue(number))
        created = _guard(f"comment on #{number}", lambda: issue.create_comment(body))
        return int(created.id)

    def edit_comment(self, comment_id: int, body: str) -> None:
        def edit() -> None:
            comment = self.repo.session  # github3 has no repository-level comment getter by id: build the URL
            url = self.repo._build_url("issues", "comments", str(comment_id), base_url=self.repo._api)
            self.repo._json(comment.patch(url, json={"body": body}), 200)

        _guard(f"edit comment {comment_id}", edit)

    # ------------------------------------------------------------------ people

    def permission(self, login: str) -> str:
        """'admin' | 'write' | 'read' | 'none' for `login` on this repository ('none' for strangers)."""

        def read() -> str:
            url = self.repo._build_url("collaborators", login, "permission", base_url=self.repo._api)
            return str(self.repo._json(self.repo._get(url), 200)["permission"])

        try:
            return _guard(f"read the permission of {login}", read)
        except ForgeNotFound:
            return "none"
