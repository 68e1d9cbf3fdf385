"""`python -m reconciler.sandbox.forge serve --git-dir BARE --port P --users FILE [--webhook URL]`: the local forge
as a process (what `edgeops sandbox up` starts). FILE is JSON `{"users": {login: permission}, "tokens": {token:
login}}`; the webhook secret comes from `$EDGEOPS_WEBHOOK_SECRET`. Stops on SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from reconciler.sandbox.forge.openapi import OpenApi
from reconciler.sandbox.forge.server import GitHubHttpServer
from reconciler.sandbox.forge.state import FakeGitHub
from reconciler.sandbox.forge.webhooks import RefWatcher, WebhookSender


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m reconciler.sandbox.forge")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve")
    serve.add_argument("--git-dir", type=Path, required=True)
    serve.add_argument("--port", type=int, default=0)
    serve.add_argument("--owner", default="acme")
    serve.add_argument("--name", default="edge-fleet")
    serve.add_argument("--users", type=Path, required=True)
    serve.add_argument("--webhook", help="URL the events are delivered to (signed with $EDGEOPS_WEBHOOK_SECRET)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    secret = os.environ.get("EDGEOPS_WEBHOOK_SECRET", "")
    if args.webhook and not secret:
        print("error: --webhook needs the secret in $EDGEOPS_WEBHOOK_SECRET", file=sys.stderr)
        return 2
    access = json.loads(args.users.read_text(encoding="utf-8"))
    fake = FakeGitHub(owner=args.owner, name=args.name, git_dir=args.git_dir.resolve())
    fake.users.update(access.get("users", {}))
    fake.tokens.update(access.get("tokens", {}))
    sender = WebhookSender(args.webhook, secret.encode()) if args.webhook else None
    fake.on_event = sender
    server = GitHubHttpServer(fake, OpenApi.load(), port=args.port)
    watcher = RefWatcher(fake)
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    thread = threading.Thread(target=server.serve_forever, name="forge", daemon=True)
    thread.start()
    print(f"serving {fake.owner}/{fake.name} on {fake.base_url}/api/v3", flush=True)
    stop.wait()
    server.shutdown()
    server.server_close()
    watcher.close()
    if sender is not None:
        sender.close()
    for violation in fake.violations:
        print(f"reply not matching GitHub's OpenAPI description: {violation}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
