"""Comment commands: `/edgeops plan`, `/edgeops promote <model> <zone>`, `/edgeops abort <model> <zone>`.

Only lines that start with `/edgeops` count; the first such line is the command. Arguments are spec names
(DNS labels); anything else is a usage error, reported back politely, never executed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
USAGE = "`/edgeops plan`, `/edgeops promote <model> <zone>` or `/edgeops abort <model> <zone>`"


@dataclass(frozen=True)
class Command:
    verb: str  # plan | promote | abort
    model: str | None = None
    zone: str | None = None


class CommandError(ValueError):
    """A `/edgeops` line that is not a valid command (the message says what is accepted)."""


def parse_command(body: str) -> Command | None:
    """The command in a comment, None when the comment has no `/edgeops` line."""
    line = next((ln.strip() for ln in body.splitlines() if ln.strip().startswith("/edgeops")), None)
    if line is None:
        return None
    words = line.split()
    if words[0] != "/edgeops":
        return None
    verb, args = (words[1] if len(words) > 1 else ""), words[2:]
    if verb == "plan" and not args:
        return Command("plan")
    if verb in ("promote", "abort") and len(args) == 2 and all(_NAME.match(a) for a in args):
        return Command(verb, model=args[0], zone=args[1])
    raise CommandError(f"not a command I know; use {USAGE}")
