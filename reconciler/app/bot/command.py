"""Comment commands on pull requests, from people with write permission; anyone else gets a polite refusal.

/edgeops plan                       recompute and edit the plan comment
/edgeops promote <model> <zone>     open (or update) the promotion PR for that canary and merge it when checks are green
/edgeops abort <model> <zone>       open the rollback PR for that canary and merge it at once
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from reconciler.app.bot.pull import PullOptions, handle_pull
from reconciler.app.desired import load_desired
from reconciler.app.gitops import Bot, propose
from reconciler.core.bot import USAGE, CommandError, code, inline, parse_command
from reconciler.core.canary import Decision, Verdict, canary_groups, thresholds_for

WRITE_LEVELS = ("admin", "maintain", "write")


@dataclass(frozen=True)
class CommandReport:
    verb: str | None
    accepted: bool
    reply: str


def _reply(bot: Bot, number: int, text: str, verb: str | None, accepted: bool) -> CommandReport:
    bot.forge.comment(number, text)
    return CommandReport(verb, accepted, text)


def handle_comment(
    bot: Bot, number: int, author: str, text: str, options: PullOptions | None = None
) -> CommandReport | None:
    """Act on a comment's `/edgeops` command; None when the comment holds no command (or is the bot's own)."""
    if author == bot.forge.me():
        return None
    try:
        command = parse_command(text)
    except CommandError as error:
        return _reply(bot, number, f"@{author} {inline(error)}", None, False)
    if command is None:
        return None
    permission = bot.forge.permission(author)
    if permission not in WRITE_LEVELS:
        return _reply(
            bot,
            number,
            f"Sorry @{author}, `/edgeops {command.verb}` needs write permission on this repository "
            f"(yours: {inline(permission)}). Ask a maintainer to run it.",
            command.verb,
            False,
        )
    if command.verb == "plan":
        handle_pull(bot, number, options)
        return CommandReport("plan", True, "plan updated")
    assert command.model is not None
    assert command.zone is not None
    bot.workspace.fetch()
    load = load_desired(Path(bot.workspace.repo.path), f"origin/{bot.base}")
    if load.spec is None:
        return _reply(bot, number, f"@{author} `{bot.base}` does not load; fix it first.", command.verb, False)
    group = next((g for g in canary_groups(load.spec) if g.model == command.model and command.zone in g.zones), None)
    if group is None:
        return _reply(
            bot,
            number,
            f"@{author} there is no canary of {code(command.model)} in {code(command.zone)} on `{bot.base}`.",
            command.verb,
            False,
        )
    decision = Decision.PROMOTE if command.verb == "promote" else Decision.ROLLBACK
    verdict = Verdict(
        decision=decision,
        reason=f"/edgeops {command.verb} by {author}",
        thresholds=thresholds_for(load.spec, group.policy, group.model),
        window=timedelta(0),
        evidence=(),
        analysed=group.step,
    )
    proposal = propose(bot, load.spec, group, verdict, manual_by=author)
    state = "merged" if proposal.merged else f"opened, not merged yet: {inline(proposal.note)}"
    return _reply(
        bot,
        number,
        f"@{author} {command.verb} of {code(group.model)} {code(group.version)} in {code(command.zone)}: "
        f"[#{proposal.pull.number}]({proposal.pull.url}) {state}.",
        command.verb,
        proposal.merged,
    )


__all__ = ["USAGE", "CommandReport", "handle_comment"]
