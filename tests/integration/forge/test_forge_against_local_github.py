"""The forge shell through github3.py against the local GitHub (replies validated against GitHub's OpenAPI
description) and a bare git remote. Matrix: branch tip by git refs · open → find by head → update (never a duplicate, also when a
previous run opened it) · labels · comments created then edited in place · statuses and the combined state ·
merge refused while a required check is missing, then merged into the bare repo · permissions for admin, write,
read and a stranger · errors mapped to our tree (bad token, missing PR)."""

from __future__ import annotations

import pytest

from reconciler.shells.forge import Forge, ForgeAuthError, ForgeNotFound, MergeRefused
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
