"""The forge shell through github3.py against the local GitHub (replies validated against GitHub's OpenAPI
description) and a bare git remote. Matrix: branch tip by git refs · open → find by head → update (never a duplicate, also when a
previous run opened it) · labels · comments created then edited in place · statuses and the combined state ·
merge refused while a required check is missing, then merged into the bare repo · permissions for admin, write,
read and a stranger · errors mapped to our tree (bad token, missing PR) · GitHub's limits (title 256, body and
comment 65,536, status description 140) and an unknown base refused with a 422 → `ForgeInvalid` carrying GitHub's
errors, never an update of another pull request · "already exists" (a run that lost the race) → update."""

from __future__ import annotations

import pytest
from github3.exceptions import UnprocessableEntity

from reconciler.shells.forge import (
    Forge,
    ForgeAuthError,
    ForgeConflict,
    ForgeInvalid,
    ForgeNotFound,
    MergeRefused,
    PullInfo,
)
from tests.fixtures.github import ADMIN_TOKEN, BOT_TOKEN, NAME, OWNER, GitHubRemote

pytestmark = pytest.mark.integration


def bot(remote: GitHubRemote) -> Forge:
    return Forge(OWNER, NAME, url=remote.url, token=BOT_TOKEN)


def test_pull_requests_are_found_by_head_and_never_duplicated(github_remote: GitHubRemote) -> None:
    tip = github_remote.human_push("edgeops/canary/ams-01/fraud-scoring", {"README.md": "step\n"}, "step")
    forge = bot(github_remote)
    assert forge.branch_tip("edgeops/canary/ams-01/fraud-scoring") == tip
    assert forge.branch_tip("no/such/branch") is None
    assert forge.me() == "edgeops-bot"
    assert forge.find_open_pull("edgeops/canary/ams-01/fraud-scoring") is None
    first, created = forge.open_or_update_pull(
        branch="edgeops/canary/ams-01/fraud-scoring", base="main", title="t1", body="b1", labels=["canary"]
    )
    assert created
    again, created_again = bot(github_remote).open_or_update_pull(
        branch="edgeops/canary/ams-01/fraud-scoring", base="main", title="t2", body="b2", labels=["canary", "x"]
    )
    assert not created_again
    assert again.number == first.number
    assert (again.title, again.body, again.author) == ("t2", "b2", "edgeops-bot")
    assert set(again.labels) == {"canary", "x"}
    assert len(github_remote.fake.pulls) == 1


def test_comments_statuses_merge_and_permissions(github_remote: GitHubRemote) -> None:
    head = github_remote.human_push("feature", {"notes.txt": "hello\n"}, "notes")
    forge = bot(github_remote)
    pr, _ = forge.open_or_update_pull(branch="feature", base="main", title="notes", body="")
    cid = forge.comment(pr.number, "first")
    forge.edit_comment(cid, "second")
    assert [(c.id, c.body, c.author) for c in forge.comments(pr.number)] == [(cid, "second", "edgeops-bot")]

    github_remote.fake.required_contexts = ["edgeops/validate"]
    with pytest.raises(MergeRefused, match="edgeops/validate"):
        forge.merge(pr.number, sha=head, message="merge")
    forge.set_status(head, context="edgeops/validate", state="pending", description="running")
    assert forge.combined_status(head) == ("pending", {"edgeops/validate": "pending"})
    forge.set_status(head, context="edgeops/validate", state="success", description="ok")
    assert forge.combined_status(head)[0] == "success"
    forge.merge(pr.number, sha=head, message="merge notes")
    assert forge.pull(pr.number).merged
    assert github_remote.main_text("notes.txt") == "hello\n"

    assert [forge.permission(u) for u in ("alice", "edgeops-bot", "mallory", "stranger")] == [
        "admin",
        "write",
        "read",
        "none",
    ]


def test_errors_come_from_our_tree(github_remote: GitHubRemote) -> None:
    with pytest.raises(ForgeAuthError, match="401"):
        Forge(OWNER, NAME, url=github_remote.url, token="wrong").me()
    with pytest.raises(ForgeNotFound) as raised:
        Forge(OWNER, NAME, url=github_remote.url, token=ADMIN_TOKEN).pull(99)
    assert raised.value.__cause__ is not None


def test_a_refused_request_is_forge_invalid_never_an_update_of_another_pull(github_remote: GitHubRemote) -> None:
    github_remote.human_push("other", {"other.txt": "x\n"}, "other")
    github_remote.human_push("feature", {"notes.txt": "hello\n"}, "notes")
    forge = bot(github_remote)
    other, _ = forge.open_or_update_pull(branch="other", base="main", title="other", body="kept")
    refused = {
        "title": {"title": "t" * 257, "body": ""},
        "body": {"title": "notes", "body": "b" * 65_537},
        "base": {"title": "notes", "body": "", "base": "no-such-base"},
    }
    for field, request in refused.items():
        with pytest.raises(ForgeInvalid, match="422 Validation Failed") as raised:
            forge.open_or_update_pull(**{"branch": "feature", "base": "main", **request})
        assert not isinstance(raised.value, ForgeConflict)
        assert raised.value.message == "Validation Failed"
        assert [(e.get("resource"), e.get("field")) for e in raised.value.errors] == [("PullRequest", field)]
        assert f"PullRequest.{field}" in str(raised.value)
    assert list(github_remote.fake.pulls) == [other.number]
    assert (github_remote.fake.pulls[other.number]["title"], github_remote.fake.pulls[other.number]["body"]) == (
        "other",
        "kept",
    )

    # Updating an open pull request, commenting, and editing a comment are refused the same way.
    pr, _ = forge.open_or_update_pull(branch="feature", base="main", title="notes", body="short")
    with pytest.raises(ForgeInvalid, match=r"PullRequest\.body \(custom\): body is too long"):
        forge.open_or_update_pull(branch="feature", base="main", title="notes", body="b" * 65_537)
    cid = forge.comment(pr.number, "c" * 65_536)
    with pytest.raises(ForgeInvalid, match=r"Body is too long \(maximum is 65536 characters\)"):
        forge.comment(pr.number, "c" * 65_537)
    with pytest.raises(ForgeInvalid, match="IssueComment"):
        forge.edit_comment(cid, "c" * 65_537)

    # A status description is clipped under GitHub's 140 characters, which the local GitHub enforces too.
    forge.set_status(pr.head_sha, context="edgeops/validate", state="success", description="d" * 300)
    (status,) = github_remote.fake.statuses[pr.head_sha]
    assert len(status["description"]) == 140
    assert status["description"].endswith("…")
    with pytest.raises(UnprocessableEntity):
        forge.repo.create_status(pr.head_sha, "success", description="d" * 141, context="raw")


def test_already_exists_sends_a_run_that_lost_the_race_back_to_update(github_remote: GitHubRemote) -> None:
    github_remote.human_push("feature", {"notes.txt": "hello\n"}, "notes")
    first, _ = bot(github_remote).open_or_update_pull(branch="feature", base="main", title="first", body="one")
    late = bot(github_remote)
    looked: list[str] = []
    real_find = late.find_open_pull

    def stale_then_real(branch: str) -> PullInfo | None:
        # The race: this run looked before the other one opened its pull request.
        looked.append(branch)
        return None if len(looked) == 1 else real_find(branch)

    late.find_open_pull = stale_then_real  # type: ignore[method-assign]
    pull, created = late.open_or_update_pull(branch="feature", base="main", title="second", body="two")
    assert (pull.number, created, pull.title, pull.body) == (first.number, False, "second", "two")
    assert len(github_remote.fake.pulls) == 1
