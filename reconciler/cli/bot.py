"""`edgeops bot pr|comment|deploy|serve`: the PR bot, for GitHub Actions steps or as a webhook service.

Tokens come from the environment only: EDGEOPS_GITHUB_TOKEN (or GITHUB_TOKEN) for the forge and git; the
webhook secret from the variable named by --secret-env (default EDGEOPS_WEBHOOK_SECRET); the NATS user that
publishes nudges (`serve --nudge-nats`) from EDGEOPS_NUDGE_NATS_USER and EDGEOPS_NUDGE_NATS_PASSWORD.

Exit codes: 0 done; 1 error, or `bot pr` found the desired state invalid; 2 usage (missing repository,
secret, or event fields); 3 `bot comment` refused the command.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Annotated

import typer

from reconciler.app.bot import PullOptions, handle_comment, handle_pull, make_server, report_deploy
from reconciler.cli.gitops import RepositoryOptions, guarded
from reconciler.cli.options import EXIT_ERROR, EXIT_USAGE, BotKubeconfig, Namespace, RequireCheck, option_group

EXIT_REFUSED = 3
Number = Annotated[int | None, typer.Option("--pr", help="pull request number (default: from $GITHUB_EVENT_PATH)")]


@dataclass(frozen=True)
class BotOptions(RepositoryOptions):
    """What every `edgeops bot` command takes: the repository, and the clusters whose plan and rollout it reports."""

    kubeconfig: BotKubeconfig = None
    namespace: Namespace = "edgeops"

    def pull_options(self) -> PullOptions:
        return PullOptions(kubeconfig=self.kubeconfig, namespace=self.namespace)


def _event() -> dict[str, object]:
    path = os.environ.get("GITHUB_EVENT_PATH")
    if not path:
        return {}
    loaded: dict[str, object] = json.loads(Path(path).read_text())
    return loaded


def _number(given: int | None, event: dict[str, object]) -> int:
    if given is not None:
        return given
    for key in ("pull_request", "issue"):
        item = event.get(key)
        if isinstance(item, dict) and "number" in item:
            return int(item["number"])
    typer.echo("error: --pr is required outside a pull_request or issue_comment event", err=True)
    raise typer.Exit(EXIT_USAGE)


@guarded
@option_group("options", BotOptions)
def pr_command(options: BotOptions, *, pr: Number = None) -> None:
    bot = options.open()
    report = handle_pull(bot, _number(pr, _event()), options.pull_options())
    typer.echo(report.annotations, nl=False)
    typer.echo(
        f"#{report.number} at {report.head_sha[:12]}: {'valid' if report.valid else 'INVALID'}; "
        f"plan comment {', '.join(map(str, report.comment_ids))}"
    )
    if not report.valid:
        raise typer.Exit(EXIT_ERROR)


@guarded
@option_group("options", BotOptions)
def comment_command(
    options: BotOptions,
    *,
    pr: Number = None,
    author: Annotated[str | None, typer.Option("--author", help="comment author (default: from the event)")] = None,
    body: Annotated[str | None, typer.Option("--body", help="comment text (default: from the event)")] = None,
    require_check: RequireCheck = None,
) -> None:
    event = _event()
    comment = event.get("comment") if isinstance(event.get("comment"), dict) else {}
    assert isinstance(comment, dict)
    author = author or str((comment.get("user") or {}).get("login") or "")
    body = body if body is not None else str(comment.get("body") or "")
    if not author:
        typer.echo("error: --author is required outside an issue_comment event", err=True)
        raise typer.Exit(EXIT_USAGE)
    bot = options.open(require_check)
    result = handle_comment(bot, _number(pr, event), author, body, options.pull_options())
    if result is None:
        typer.echo("no /edgeops command")
        return
    typer.echo(result.reply)
    if not result.accepted:
        raise typer.Exit(EXIT_REFUSED)


@guarded
@option_group("options", BotOptions)
def deploy_command(
    options: BotOptions,
    *,
    sha: Annotated[str | None, typer.Option("--sha", help="merged commit (default: $GITHUB_SHA)")] = None,
    pr: Annotated[int | None, typer.Option("--pr", help="pull request to report on (optional)")] = None,
    wait: Annotated[float, typer.Option("--wait", help="seconds to keep polling until every region is done")] = 0.0,
    poll: Annotated[float, typer.Option("--poll", help="seconds between polls with --wait")] = 15.0,
) -> None:
    sha = sha or os.environ.get("GITHUB_SHA")
    if not sha:
        typer.echo("error: --sha is required outside GitHub Actions", err=True)
        raise typer.Exit(EXIT_USAGE)
    bot = options.open()
    deadline = time.monotonic() + wait
    while True:
        regions = report_deploy(bot, sha, number=pr, kubeconfig=options.kubeconfig, namespace=options.namespace)
        # Without credentials nothing will change by waiting; with them, poll until every region settled.
        settled = options.kubeconfig is None or all(r.state != "pending" for r in regions)
        if settled or time.monotonic() + poll > deadline:
            break
        time.sleep(poll)
    for r in regions:
        typer.echo(f"edgeops/{r.region}: {r.state} ({r.description})")


@guarded
@option_group("options", BotOptions)
def serve_command(
    options: BotOptions,
    *,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8088,
    secret_env: Annotated[
        str, typer.Option("--secret-env", help="variable holding the webhook secret")
    ] = "EDGEOPS_WEBHOOK_SECRET",  # noqa: S107 (a variable name)
    require_check: RequireCheck = None,
    nudge_nats: Annotated[
        str | None,
        typer.Option(
            "--nudge-nats", help="NATS hub URL: on a push to the base branch, nudge every region's reconciler"
        ),
    ] = None,
) -> None:
    from reconciler.app.gitops import nudge_endpoint, publish_nudge

    secret = os.environ.get(secret_env, "")
    if not secret:
        typer.echo(f"error: set the webhook secret in ${secret_env}", err=True)
        raise typer.Exit(EXIT_USAGE)
    bot = options.open(require_check)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    nudge = partial(publish_nudge, nudge_endpoint(nudge_nats)) if nudge_nats is not None else None
    server = make_server(
        lambda: bot,
        secret.encode(),
        host=host,
        port=port,
        kubeconfig=options.kubeconfig,
        namespace=options.namespace,
        nudge=nudge,
    )
    typer.echo(f"listening on http://{host}:{server.server_address[1]}/")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def register(app: typer.Typer) -> None:
    bot = typer.Typer(
        help="The PR bot.\n\nExit codes: 0 done; 1 error or invalid; 2 usage; 3 command refused.", no_args_is_help=True
    )
    bot.command(
        "pr",
        help="Validate a PR, post/edit its plan comment, set edgeops/validate, print annotations.\n\n"
        "Exit codes: 0 valid; 1 invalid or error; 2 usage.",
    )(pr_command)
    bot.command(
        "comment",
        help="Act on an /edgeops comment command (write permission required).\n\n"
        "Exit codes: 0 done or no command; 1 error; 2 usage; 3 refused.",
    )(comment_command)
    bot.command(
        "deploy",
        help="After a merge: set edgeops/<region> statuses and the rollout report.\n\n"
        "Exit codes: 0 reported; 1 error; 2 usage.",
    )(deploy_command)
    bot.command(
        "serve",
        help="Webhook service (verifies X-Hub-Signature-256).\n\nExit codes: 0 stopped; 1 error; 2 usage (no secret).",
    )(serve_command)
    app.add_typer(bot, name="bot")
