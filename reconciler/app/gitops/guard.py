"""The merge guardrail with I/O: the PR must be ours, and its change canary-only — judged by loading both
versions of every changed file from git (`reconciler.core.canary.guard`), not by the file names."""

from __future__ import annotations

from reconciler.core.canary import canary_only_problems
from reconciler.shells.forge import Forge, PullInfo
from reconciler.shells.git import Workspace


class GuardrailRefused(Exception):
    def __init__(self, number: int, problems: tuple[str, ...]) -> None:
        super().__init__(f"pull request #{number} may not be merged by the bot: " + "; ".join(problems))
        self.problems = problems


def guardrail_problems(ws: Workspace, forge: Forge, pull: PullInfo) -> tuple[str, ...]:
    problems: list[str] = []
    if pull.author != forge.me():
        problems.append(f"authored by {pull.author}, not by the bot ({forge.me()})")
    ws.fetch()
    tip = forge.branch_tip(pull.head_ref)
    if tip != pull.head_sha:
        problems.append(f"the branch moved ({(tip or 'deleted')[:12]} is not the reviewed {pull.head_sha[:12]})")
    base = ws.merge_base(f"origin/{pull.base_ref}", pull.head_sha)
    paths = ws.changed_paths(base, pull.head_sha)
    if not paths:
        problems.append("the pull request changes nothing")
    # Bytes, as committed: the guardrail reads them as the loader does (encoding and size rules included).
    changes = {p: (ws.read_bytes(base, p), ws.read_bytes(pull.head_sha, p)) for p in paths}
    return (*problems, *canary_only_problems(changes))


def merge_guarded(ws: Workspace, forge: Forge, pull: PullInfo, *, message: str) -> str:
    problems = guardrail_problems(ws, forge, pull)
    if problems:
        raise GuardrailRefused(pull.number, problems)
    return forge.merge(pull.number, sha=pull.head_sha, message=message)
