"""The local forge: a GitHub-compatible REST server over a bare git repository, for the sandbox and the tests.

- `state`: `FakeGitHub`, the stateful part (pull requests, comments, labels, statuses, permissions; merges write
  real merge commits into the bare repository)
- `routes`, `server`: the REST operations edgeops calls, on GitHub Enterprise's `/api/v3` prefix
  (`GitHubHttpServer`); github3.py speaks to it as to GitHub
- `openapi`: every reply is built from GitHub's OpenAPI description (npm `@octokit/openapi`, installed by the
  bootstrap) and validated against it; the tests fail on any reply that does not match
- `webhooks`: signed webhook deliveries (`WebhookSender`) and pushes seen on the refs (`RefWatcher`)
- `python -m reconciler.sandbox.forge serve ...`: the forge as a process of its own (what `edgeops sandbox up`
  starts), delivering its events to a webhook URL
"""

from reconciler.sandbox.forge.openapi import OpenApi, SchemaViolation, spec_path
from reconciler.sandbox.forge.server import GitHubHttpServer
from reconciler.sandbox.forge.state import FakeGitHub, HttpError
from reconciler.sandbox.forge.webhooks import RefWatcher, WebhookSender, signature

__all__ = [
    "FakeGitHub",
    "GitHubHttpServer",
    "HttpError",
    "OpenApi",
    "RefWatcher",
    "SchemaViolation",
    "WebhookSender",
    "signature",
    "spec_path",
]
