"""A stateful fake of the GitHub REST operations edgeops calls, backed by a real bare git repository.

Branches and commits live in the bare repository (the bot pushes there with pygit2); pull requests, comments,
labels, statuses and permissions live here. Merging writes a real merge commit onto the base branch, so a
reconciler reading the bare repository sees what was merged. Every reply is built and validated by `OpenApi`.

Branch protection is modelled by `required_contexts`: a merge is refused (405, as GitHub does) until each of
those status contexts is `success` on the head commit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pygit2


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class HttpError(Exception):
    """An error reply. A 422 carries GitHub's `errors` list (`resource`, `field`, `code`, `message`) under the
    message "Validation Failed", as GitHub answers a request it refuses."""

    def __init__(self, status: int, message: str, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.errors = errors

    @classmethod
    def invalid(cls, resource: str, code: str, *, field: str | None = None, message: str | None = None) -> HttpError:
        error = {"resource": resource, "code": code}
        error.update({k: v for k, v in (("field", field), ("message", message)) if v is not None})
        return cls(422, "Validation Failed", [error])


# GitHub's limits on the text edgeops sends, as its REST API enforces them: (resource, field, code, maximum,
# message format). The OpenAPI description does not state them; GitHub's 422 replies do.
LIMITS = {
    "pull.title": ("PullRequest", "title", "custom", 256, "title is too long (maximum is {} characters)"),
    "pull.body": ("PullRequest", "body", "custom", 65_536, "body is too long (maximum is {} characters)"),
    "comment.body": ("IssueComment", "data", "unprocessable", 65_536, "Body is too long (maximum is {} characters)"),
    "status.description": (
        "Status",
        "description",
        "custom",
        140,
        "description is too long (maximum is {} characters)",
    ),
}


def check_length(limit: str, value: object) -> None:
    """422 as GitHub answers it when `value` is longer than the `limit` named (see LIMITS)."""
    resource, field_name, code, maximum, message = LIMITS[limit]
    if isinstance(value, str) and len(value) > maximum:
        raise HttpError.invalid(resource, code, field=field_name, message=message.format(maximum))


@dataclass
class FakeGitHub:
    owner: str
    name: str
    git_dir: Path
    users: dict[str, str] = field(default_factory=dict)  # login -> permission (admin | write | read | none)
    tokens: dict[str, str] = field(default_factory=dict)  # token -> login
    required_contexts: list[str] = field(default_factory=list)
    pulls: dict[int, dict[str, Any]] = field(default_factory=dict)
    comments: dict[int, dict[str, Any]] = field(default_factory=dict)
    statuses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    base_url: str = ""
    # Called with (event, payload) as GitHub would deliver a webhook: pull requests opened and merged here
    # (pushes are seen by watching the refs: `reconciler.sandbox.forge.webhooks`).
    on_event: Callable[[str, dict[str, Any]], None] | None = None
    _next_id: int = 1
    lock: threading.RLock = field(default_factory=threading.RLock)

    # ------------------------------------------------------------------ helpers

    @property
    def api(self) -> str:
        return f"{self.base_url}/api/v3"

    @property
    def repo_api(self) -> str:
        return f"{self.api}/repos/{self.owner}/{self.name}"

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def git(self) -> pygit2.Repository:
        return pygit2.Repository(str(self.git_dir))

    def branch_sha(self, branch: str) -> str:
        ref = self.git().references.get(f"refs/heads/{branch}")
        if ref is None:
            raise HttpError(422, f"no branch {branch}", [{"resource": "Branch", "code": "missing"}])
        return str(ref.target)

    def user(self, login: str) -> dict[str, Any]:
        return {
            "login": login,
            "id": abs(hash(login)) % 10_000_000,
            "type": "User",
            "site_admin": False,
            "url": f"{self.api}/users/{login}",
            "html_url": f"{self.base_url}/{login}",
        }

    def repository(self) -> dict[str, Any]:
        return {
            "id": 1,
            "name": self.name,
            "full_name": f"{self.owner}/{self.name}",
            "owner": self.user(self.owner),
            "private": False,
            "default_branch": "main",
            "url": self.repo_api,
            "html_url": f"{self.base_url}/{self.owner}/{self.name}",
            "pulls_url": f"{self.repo_api}/pulls{{/number}}",
            "issues_url": f"{self.repo_api}/issues{{/number}}",
            "statuses_url": f"{self.repo_api}/statuses/{{sha}}",
            "issue_comment_url": f"{self.repo_api}/issues/comments{{/number}}",
        }

    def pull_json(self, pr: dict[str, Any]) -> dict[str, Any]:
        number = pr["number"]
        head_sha = self._head_sha(pr)
        base_sha = self.branch_sha(pr["base"])
        links = {
            name: {"href": f"{self.repo_api}/{path}"}
            for name, path in (
                ("self", f"pulls/{number}"),
                ("html", f"pulls/{number}"),
                ("issue", f"issues/{number}"),
                ("comments", f"issues/{number}/comments"),
                ("review_comments", f"pulls/{number}/comments"),
                ("review_comment", "pulls/comments{/number}"),
                ("commits", f"pulls/{number}/commits"),
                ("statuses", f"statuses/{head_sha}"),
            )
        }
        return {
            "id": 1000 + number,
            "number": number,
            "state": pr["state"],
            "title": pr["title"],
            "body": pr["body"],
            "user": self.user(pr["user"]),
            "labels": [self.label(n) for n in pr["labels"]],
            "url": f"{self.repo_api}/pulls/{number}",
            "html_url": f"{self.base_url}/{self.owner}/{self.name}/pull/{number}",
            "issue_url": f"{self.repo_api}/issues/{number}",
            "comments_url": f"{self.repo_api}/issues/{number}/comments",
            "statuses_url": f"{self.repo_api}/statuses/{head_sha}",
            "commits_url": f"{self.repo_api}/pulls/{number}/commits",
            "review_comments_url": f"{self.repo_api}/pulls/{number}/comments",
            "review_comment_url": f"{self.repo_api}/pulls/comments{{/number}}",
            "merged": pr["merged"],
            "merged_at": pr["merged_at"],
            "merge_commit_sha": pr["merge_commit_sha"],
            "mergeable": None if pr["merged"] else True,
            "created_at": pr["created_at"],
            "updated_at": pr["updated_at"],
            "closed_at": pr["merged_at"],
            "draft": False,
            "assignees": [],
            "requested_reviewers": [],
            "requested_teams": [],
            "assignee": None,
            "milestone": None,
            "merged_by": self.user(pr["merged_by"]) if pr.get("merged_by") else None,
            "auto_merge": None,
            "head": {
                "ref": pr["head"],
                "sha": head_sha,
                "label": f"{self.owner}:{pr['head']}",
                "repo": self.repository(),
                "user": self.user(self.owner),
            },
            "base": {
                "ref": pr["base"],
                "sha": base_sha,
                "label": f"{self.owner}:{pr['base']}",
                "repo": self.repository(),
                "user": self.user(self.owner),
            },
            "_links": links,
            # Sent with the `full` media type github3.py asks for; not in the JSON schema, which allows extras.
            "body_html": f"<p>{pr['body']}</p>",
            "body_text": pr["body"],
        }

    def _head_sha(self, pr: dict[str, Any]) -> str:
        return str(pr.get("merged_head") or self.branch_sha(pr["head"]))

    def label(self, name: str) -> dict[str, Any]:
        return {
            "id": abs(hash(name)) % 100000,
            "name": name,
            "color": "ededed",
            "default": False,
            "description": "",
            "url": f"{self.repo_api}/labels/{name}",
        }

    def comment_json(self, comment: dict[str, Any]) -> dict[str, Any]:
        cid = comment["id"]
        return {
            "id": cid,
            "body": comment["body"],
            "user": self.user(comment["user"]),
            "url": f"{self.repo_api}/issues/comments/{cid}",
            "html_url": f"{self.base_url}/{self.owner}/{self.name}/issues/{comment['issue']}#issuecomment-{cid}",
            "issue_url": f"{self.repo_api}/issues/{comment['issue']}",
            "created_at": comment["created_at"],
            "updated_at": comment["updated_at"],
            "author_association": "MEMBER",
        }

    def issue_json(self, number: int) -> dict[str, Any]:
        pr = self.pull(number)
        return {
            "id": 2000 + number,
            "number": number,
            "title": pr["title"],
            "body": pr["body"],
            "state": pr["state"],
            "user": self.user(pr["user"]),
            "labels": [self.label(n) for n in pr["labels"]],
            "url": f"{self.repo_api}/issues/{number}",
            "comments_url": f"{self.repo_api}/issues/{number}/comments",
            "events_url": f"{self.repo_api}/issues/{number}/events",
            "labels_url": f"{self.repo_api}/issues/{number}/labels{{/name}}",
            "html_url": f"{self.base_url}/{self.owner}/{self.name}/issues/{number}",
            "repository_url": self.repo_api,
            "pull_request": {"url": f"{self.repo_api}/pulls/{number}"},
            "comments": sum(1 for c in self.comments.values() if c["issue"] == number),
            "assignee": None,
            "assignees": [],
            "milestone": None,
            "closed_at": None,
            "created_at": pr["created_at"],
            "updated_at": pr["updated_at"],
            "locked": False,
        }

    def pull(self, number: int) -> dict[str, Any]:
        if number not in self.pulls:
            raise HttpError(404, "Not Found")
        return self.pulls[number]

    def combined(self, sha: str) -> dict[str, Any]:
        latest: dict[str, dict[str, Any]] = {}
        for status in self.statuses.get(sha, []):
            latest[status["context"]] = status
        states = [s["state"] for s in latest.values()]
        state = (
            "failure"
            if {"failure", "error"} & set(states)
            else ("success" if states and all(s == "success" for s in states) else "pending")
        )
        return {
            "state": state,
            "sha": sha,
            "total_count": len(latest),
            "statuses": list(latest.values()),
            "repository": self.repository(),
            "commit_url": f"{self.repo_api}/commits/{sha}",
            "url": f"{self.repo_api}/commits/{sha}/status",
        }

    # ------------------------------------------------------------------ state changes used by tests

    def open_pull(self, head: str, base: str, title: str, body: str, user: str) -> dict[str, Any]:
        with self.lock:
            check_length("pull.title", title)
            check_length("pull.body", body)
            for name, ref in (("base", base), ("head", head)):
                if self.git().references.get(f"refs/heads/{ref}") is None:
                    raise HttpError.invalid("PullRequest", "invalid", field=name)
            if any(p["head"] == head and p["state"] == "open" for p in self.pulls.values()):
                message = f"A pull request already exists for {self.owner}:{head}."
                raise HttpError.invalid("PullRequest", "custom", message=message)
            number = max(self.pulls, default=0) + 1
            pr = {
                "number": number,
                "head": head,
                "base": base,
                "title": title,
                "body": body or "",
                "user": user,
                "state": "open",
                "labels": [],
                "merged": False,
                "merged_at": None,
                "merge_commit_sha": None,
                "created_at": _now(),
                "updated_at": _now(),
            }
            self.pulls[number] = pr
            # As GitHub does: the head is also reachable as refs/pull/<n>/head.
            repo = self.git()
            repo.references.create(f"refs/pull/{number}/head", repo.references[f"refs/heads/{head}"].target, force=True)
            self.emit_pull("opened", pr)
            return pr

    def emit_pull(self, action: str, pr: dict[str, Any]) -> None:
        """A `pull_request` event for `pr` (when someone listens)."""
        if self.on_event is not None:
            payload = {"action": action, "number": pr["number"], "pull_request": self.pull_json(pr)}
            self.on_event("pull_request", {**payload, "repository": self.repository()})

    def merge(self, number: int, user: str, sha: str | None, message: str | None) -> dict[str, Any]:
        with self.lock:
            pr = self.pull(number)
            if pr["state"] != "open":
                raise HttpError(405, "Pull Request is not mergeable")
            head_sha = self.branch_sha(pr["head"])
            if sha and sha != head_sha:
                raise HttpError(409, "Head branch was modified. Review and try the merge again.")
            if self.users.get(user) not in ("admin", "write"):
                raise HttpError(403, "Resource not accessible by integration")
            combined = self.combined(head_sha)
            latest = {s["context"]: s["state"] for s in combined["statuses"]}
            missing = [c for c in self.required_contexts if latest.get(c) != "success"]
            if missing:
                raise HttpError(405, f"Required status check {missing[0]!r} is expected.")
            repo = self.git()
            base_ref = repo.references[f"refs/heads/{pr['base']}"]
            ours = repo[base_ref.target].peel(pygit2.Commit)
            theirs = repo[pygit2.Oid(hex=head_sha)].peel(pygit2.Commit)
            index = repo.merge_commits(ours, theirs)
            if index.conflicts is not None:
                raise HttpError(405, "Pull Request is not mergeable")
            tree = index.write_tree(repo)
            who = pygit2.Signature("GitHub", "noreply@github.com", int(time.time()), 0)
            oid = repo.create_commit(
                base_ref.name,
                who,
                who,
                message or f"Merge pull request #{number} from {self.owner}/{pr['head']}",
                tree,
                [ours.id, theirs.id],
            )
            pr.update(
                state="closed",
                merged=True,
                merged_at=_now(),
                merge_commit_sha=str(oid),
                merged_head=head_sha,
                merged_by=user,
                updated_at=_now(),
            )
            self.emit_pull("closed", pr)
            return {"sha": str(oid), "merged": True, "message": "Pull Request successfully merged"}
