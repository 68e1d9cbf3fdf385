"""The PR bot against the local GitHub (OpenAPI-validated replies) and a bare remote, no cluster credentials (plans
rendered against main). Matrix: a human PR pushed twice → one plan comment, edited in place, showing the new
change; an invalid zone file → failure status, a problems table and `::error file=,line=,col=` annotations;
a plan over GitHub's comment limit → parts, each under it, edited in place; `/edgeops promote` from a reader →
polite refusal and nothing opened; `/edgeops abort` from an admin → rollback PR merged; unknown commands →
usage; webhook deliveries with a bad or missing signature → 401 and no effect, a signed one → handled."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.app.bot import handle_comment, handle_pull, make_server, upsert
from reconciler.app.gitops import Bot
from reconciler.core.canary import parse_zone
from reconciler.shells.forge import Forge
from reconciler.shells.git import Workspace
from tests.fixtures.github import BOT_TOKEN, NAME, OWNER, GitHubRemote

pytestmark = pytest.mark.integration

AMS = "zones/eu-west/ams-01.yaml"


@pytest.fixture
def bot(github_remote: GitHubRemote, tmp_path: Path) -> Bot:
    workspace = Workspace.open_or_clone(str(github_remote.bare), tmp_path / "bot-clone")
    return Bot(workspace, Forge(OWNER, NAME, url=github_remote.url, token=BOT_TOKEN))


def human_pr(remote: GitHubRemote, files: dict[str, str], branch: str = "alice/more-replicas") -> int:
    remote.human_push(branch, files, "change")
    return int(remote.fake.open_pull(branch, "main", "more replicas", "please", "alice")["number"])


def test_a_human_pr_pushed_twice_has_one_plan_comment_edited_in_place(github_remote: GitHubRemote, bot: Bot) -> None:
    text = github_remote.main_text(AMS)
    number = human_pr(github_remote, {AMS: text.replace("replicas: 2", "replicas: 3")})
    first = handle_pull(bot, number)
    assert first.valid
    assert "StatefulSet" in first.body  # ams-01 is partitioned
    assert "replicas" in first.body
    github_remote.human_push("alice/more-replicas", {AMS: text.replace("replicas: 2", "replicas: 5")}, "again")
    second = handle_pull(bot, number)
    assert second.comment_ids == first.comment_ids
    comments = [c for c in github_remote.fake.comments.values() if c["issue"] == number]
    assert len(comments) == 1
    assert "replicas: 5" in comments[0]["body"]
    assert "replicas: 3" not in comments[0]["body"]
    assert second.head_sha[:12] in comments[0]["body"]
    statuses = github_remote.fake.statuses[second.head_sha]
    assert [(s["context"], s["state"]) for s in statuses] == [("edgeops/validate", "success")]


def test_invalid_yaml_fails_validation_with_annotations(github_remote: GitHubRemote, bot: Bot) -> None:
    text = github_remote.main_text(AMS)
    number = human_pr(github_remote, {AMS: text.replace("replicas: 2", "replicas: [2")}, "alice/broken")
    report = handle_pull(bot, number)
    assert not report.valid
    assert report.annotations.startswith(f"::error file={AMS},line=")
    assert ",col=" in report.annotations
    assert "does not load" in report.body
    assert github_remote.fake.statuses[report.head_sha][-1]["state"] == "failure"


def test_a_plan_over_the_comment_limit_is_split_and_edited_in_place(github_remote: GitHubRemote, bot: Bot) -> None:
    number = human_pr(github_remote, {"README.md": "x\n"}, "alice/readme")
    huge = "".join(f"line {i} " + "y" * 100 + "\n" for i in range(1500))  # ~160,000 characters
    ids = upsert(bot.forge, number, "plan", huge)
    assert len(ids) >= 3
    bodies = [github_remote.fake.comments[i]["body"] for i in ids]
    assert all(len(b) <= 65536 for b in bodies)
    assert upsert(bot.forge, number, "plan", huge.replace("line 1 ", "LINE 1 ")) == ids
    assert upsert(bot.forge, number, "plan", "small now")[0] == ids[0]
    assert github_remote.fake.comments[ids[-1]]["body"].endswith("no longer needed.)_")
    assert len([c for c in github_remote.fake.comments.values() if c["issue"] == number]) == len(ids)


def test_promote_from_a_reader_is_politely_refused(github_remote: GitHubRemote, bot: Bot) -> None:
    number = human_pr(github_remote, {"README.md": "x\n"}, "alice/readme")
    report = handle_comment(bot, number, "mallory", "/edgeops promote fraud-scoring ams-01")
    assert report is not None
    assert not report.accepted
    assert "Sorry @mallory" in report.reply
    assert "write permission" in report.reply
    assert len(github_remote.fake.pulls) == 1  # nothing opened
    assert handle_comment(bot, number, "alice", "/edgeops deploy everything") is not None
    assert "/edgeops plan" in list(github_remote.fake.comments.values())[-1]["body"]
    assert handle_comment(bot, number, "alice", "just a remark") is None


def test_abort_from_an_admin_merges_a_rollback(github_remote: GitHubRemote, bot: Bot) -> None:
    number = human_pr(github_remote, {"README.md": "x\n"}, "alice/readme")
    report = handle_comment(bot, number, "alice", "/edgeops abort fraud-scoring ams-01")
    assert report is not None
    assert report.accepted, report.reply
    assert parse_zone(AMS, github_remote.main_text(AMS)).spec.models[0].canary is None
    rollback = github_remote.fake.pulls[2]
    assert rollback["title"] == "canary: abort fraud-scoring 1.1.0 in ams-01"
    assert rollback["merged"]


@pytest.fixture
def webhook(bot: Bot) -> Iterator[str]:
    server = make_server(lambda: bot, b"s3cret")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def post(url: str, event: str, payload: dict[str, object], signature: str | None) -> tuple[int, str]:
    data = json.dumps(payload).encode()
    headers = {"X-GitHub-Event": event, "Content-Type": "application/json"}
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def sign(payload: dict[str, object], secret: bytes = b"s3cret") -> str:
    return "sha256=" + hmac.new(secret, json.dumps(payload).encode(), hashlib.sha256).hexdigest()


def test_webhook_verifies_signatures_before_acting(github_remote: GitHubRemote, webhook: str) -> None:
    number = human_pr(github_remote, {"README.md": "x\n"}, "alice/readme")
    payload = {"action": "opened", "pull_request": {"number": number}}
    assert post(webhook, "pull_request", payload, None)[0] == 401
    assert post(webhook, "pull_request", payload, sign(payload, b"wrong"))[0] == 401
    assert post(webhook, "pull_request", payload, sign(payload)[:-1] + "0")[0] == 401
    assert not github_remote.fake.comments
    status, text = post(webhook, "pull_request", payload, sign(payload))
    assert (status, text.strip()) == (200, f"planned #{number} (valid)")
    assert len(github_remote.fake.comments) == 1
    comment = {
        "action": "created",
        "issue": {"number": number, "pull_request": {}},
        "comment": {"user": {"login": "mallory"}, "body": "/edgeops abort fraud-scoring ams-01"},
    }
    assert post(webhook, "issue_comment", comment, sign(comment))[1].strip() == "abort: refused"
