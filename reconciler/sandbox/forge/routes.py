# ruff: noqa: PLR0917  (every route handler takes the same positional shape: state, login, body, query, path parts)
"""The REST operations the fake implements: (method, path regex, OpenAPI path template, status, handler).

A handler returns the overlay (the server's real state) that `OpenApi.reply` merges into a complete object."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from reconciler.sandbox.forge.state import FakeGitHub, HttpError, _now, check_length

Route = tuple[str, re.Pattern[str], str, int, Callable[..., Any]]
REPO = r"/repos/([^/]+)/([^/]+)"


def _repo(fake: FakeGitHub, owner: str, name: str) -> None:
    if (owner, name) != (fake.owner, fake.name):
        raise HttpError(404, "Not Found")


def get_user(fake: FakeGitHub, login: str, body: Any, query: Any) -> Any:
    return fake.user(login)


def get_repo(fake: FakeGitHub, login: str, body: Any, query: Any, owner: str, name: str) -> Any:
    _repo(fake, owner, name)
    return fake.repository()


def list_pulls(fake: FakeGitHub, login: str, body: Any, query: dict[str, str], owner: str, name: str) -> Any:
    _repo(fake, owner, name)
    state = query.get("state", "open")
    head = query.get("head")
    found = [
        p
        for p in sorted(fake.pulls.values(), key=lambda p: -p["number"])
        if (state == "all" or p["state"] == state) and (head is None or f"{fake.owner}:{p['head']}" == head)
    ]
    return [fake.pull_json(p) for p in found]


def create_pull(fake: FakeGitHub, login: str, body: dict[str, Any], query: Any, owner: str, name: str) -> Any:
    _repo(fake, owner, name)
    if fake.users.get(login) not in ("admin", "write"):
        raise HttpError(403, "Resource not accessible by integration")
    head = str(body["head"]).split(":")[-1]
    pr = fake.open_pull(head, body["base"], body["title"], body.get("body") or "", login)
    return fake.pull_json(pr)


def get_pull(fake: FakeGitHub, login: str, body: Any, query: Any, owner: str, name: str, number: str) -> Any:
    _repo(fake, owner, name)
    return fake.pull_json(fake.pull(int(number)))


def update_pull(
    fake: FakeGitHub, login: str, body: dict[str, Any], query: Any, owner: str, name: str, number: str
) -> Any:
    _repo(fake, owner, name)
    pr = fake.pull(int(number))
    check_length("pull.title", body.get("title"))
    check_length("pull.body", body.get("body"))
    for key in ("title", "body", "state"):
        if body.get(key) is not None:
            pr[key] = body[key]
    pr["updated_at"] = _now()
    return fake.pull_json(pr)


def merge_pull(
    fake: FakeGitHub, login: str, body: dict[str, Any], query: Any, owner: str, name: str, number: str
) -> Any:
    _repo(fake, owner, name)
    return fake.merge(int(number), login, body.get("sha"), body.get("commit_message"))


def get_issue(fake: FakeGitHub, login: str, body: Any, query: Any, owner: str, name: str, number: str) -> Any:
    _repo(fake, owner, name)
    return fake.issue_json(int(number))


def add_labels(fake: FakeGitHub, login: str, body: Any, query: Any, owner: str, name: str, number: str) -> Any:
    _repo(fake, owner, name)
    pr = fake.pull(int(number))
    names = body.get("labels", []) if isinstance(body, dict) else body
    for label in names:
        if label not in pr["labels"]:
            pr["labels"].append(str(label))
    return [fake.label(n) for n in pr["labels"]]


def list_comments(fake: FakeGitHub, login: str, body: Any, query: Any, owner: str, name: str, number: str) -> Any:
    _repo(fake, owner, name)
    fake.pull(int(number))
    return [
        fake.comment_json(c) for c in sorted(fake.comments.values(), key=lambda c: c["id"]) if c["issue"] == int(number)
    ]


def create_comment(
    fake: FakeGitHub, login: str, body: dict[str, Any], query: Any, owner: str, name: str, number: str
) -> Any:
    _repo(fake, owner, name)
    fake.pull(int(number))
    check_length("comment.body", body["body"])
    cid = fake.new_id()
    fake.comments[cid] = {
        "id": cid,
        "issue": int(number),
        "body": body["body"],
        "user": login,
        "created_at": _now(),
        "updated_at": _now(),
    }
    return fake.comment_json(fake.comments[cid])


def edit_comment(
    fake: FakeGitHub, login: str, body: dict[str, Any], query: Any, owner: str, name: str, cid: str
) -> Any:
    _repo(fake, owner, name)
    comment = fake.comments.get(int(cid))
    if comment is None:
        raise HttpError(404, "Not Found")
    if comment["user"] != login:
        raise HttpError(403, "only the author may edit this comment here")
    check_length("comment.body", body["body"])
    comment.update(body=body["body"], updated_at=_now())
    return fake.comment_json(comment)


def create_status(
    fake: FakeGitHub, login: str, body: dict[str, Any], query: Any, owner: str, name: str, sha: str
) -> Any:
    _repo(fake, owner, name)
    check_length("status.description", body.get("description"))
    status = {
        "id": fake.new_id(),
        "state": body["state"],
        "context": body.get("context", "default"),
        "description": body.get("description"),
        "target_url": body.get("target_url"),
        "creator": fake.user(login),
        "created_at": _now(),
        "updated_at": _now(),
        "url": f"{fake.repo_api}/statuses/{sha}",
        "avatar_url": None,
    }
    fake.statuses.setdefault(sha, []).append(status)
    return status


def list_statuses(fake: FakeGitHub, login: str, body: Any, query: Any, owner: str, name: str, ref: str) -> Any:
    _repo(fake, owner, name)
    return list(reversed(fake.statuses.get(ref, [])))


def combined_status(fake: FakeGitHub, login: str, body: Any, query: Any, owner: str, name: str, ref: str) -> Any:
    _repo(fake, owner, name)
    return fake.combined(ref)


def permission(fake: FakeGitHub, login: str, body: Any, query: Any, owner: str, name: str, user: str) -> Any:
    _repo(fake, owner, name)
    level = fake.users.get(user, "none")
    if level == "none":
        # GitHub answers 404 for someone who is not a collaborator at all.
        raise HttpError(404, f"{user} is not a user")
    return {
        "permission": level,
        "role_name": level,
        "user": {
            **fake.user(user),
            "permissions": {
                "admin": level == "admin",
                "maintain": level == "admin",
                "push": level in ("admin", "write"),
                "triage": level in ("admin", "write"),
                "pull": True,
            },
        },
    }


def get_ref(fake: FakeGitHub, login: str, body: Any, query: Any, owner: str, name: str, ref: str) -> Any:
    _repo(fake, owner, name)
    try:
        sha = fake.branch_sha(ref.removeprefix("heads/"))
    except HttpError:
        raise HttpError(404, "Not Found") from None  # GitHub answers 404 for a ref that does not exist
    return {
        "ref": f"refs/{ref}",
        "node_id": "x",
        "url": f"{fake.repo_api}/git/refs/{ref}",
        "object": {"type": "commit", "sha": sha, "url": f"{fake.repo_api}/git/commits/{sha}"},
    }


def _route(method: str, path: str, template: str, status: int, handler: Callable[..., Any]) -> Route:
    return (method, re.compile(path), template, status, handler)


ROUTES: list[Route] = [
    _route("GET", "/user", "/user", 200, get_user),
    _route("GET", REPO, "/repos/{owner}/{repo}", 200, get_repo),
    _route("GET", f"{REPO}/pulls", "/repos/{owner}/{repo}/pulls", 200, list_pulls),
    _route("POST", f"{REPO}/pulls", "/repos/{owner}/{repo}/pulls", 201, create_pull),
    _route("GET", f"{REPO}/pulls/(\\d+)", "/repos/{owner}/{repo}/pulls/{pull_number}", 200, get_pull),
    _route("PATCH", f"{REPO}/pulls/(\\d+)", "/repos/{owner}/{repo}/pulls/{pull_number}", 200, update_pull),
    _route("PUT", f"{REPO}/pulls/(\\d+)/merge", "/repos/{owner}/{repo}/pulls/{pull_number}/merge", 200, merge_pull),
    _route("GET", f"{REPO}/issues/(\\d+)", "/repos/{owner}/{repo}/issues/{issue_number}", 200, get_issue),
    _route(
        "POST", f"{REPO}/issues/(\\d+)/labels", "/repos/{owner}/{repo}/issues/{issue_number}/labels", 200, add_labels
    ),
    _route(
        "GET",
        f"{REPO}/issues/(\\d+)/comments",
        "/repos/{owner}/{repo}/issues/{issue_number}/comments",
        200,
        list_comments,
    ),
    _route(
        "POST",
        f"{REPO}/issues/(\\d+)/comments",
        "/repos/{owner}/{repo}/issues/{issue_number}/comments",
        201,
        create_comment,
    ),
    _route(
        "PATCH",
        f"{REPO}/issues/comments/(\\d+)",
        "/repos/{owner}/{repo}/issues/comments/{comment_id}",
        200,
        edit_comment,
    ),
    _route("POST", f"{REPO}/statuses/([0-9a-f]+)", "/repos/{owner}/{repo}/statuses/{sha}", 201, create_status),
    _route(
        "GET", f"{REPO}/commits/([^/]+)/statuses", "/repos/{owner}/{repo}/commits/{ref}/statuses", 200, list_statuses
    ),
    _route("GET", f"{REPO}/commits/([^/]+)/status", "/repos/{owner}/{repo}/commits/{ref}/status", 200, combined_status),
    _route(
        "GET",
        f"{REPO}/collaborators/([^/]+)/permission",
        "/repos/{owner}/{repo}/collaborators/{username}/permission",
        200,
        permission,
    ),
    _route("GET", f"{REPO}/git/ref/(.+)", "/repos/{owner}/{repo}/git/ref/{ref}", 200, get_ref),
]
