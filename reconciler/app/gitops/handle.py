"""The handle both the PR bot and the canary controller act through: the fleet repository's clone (git), its
forge, and the policy they share — which branch the fleet is deployed from and which status checks must be
green before the bot merges a step or a promotion.

Also the `edgeops/validate` status both report on commits they judge: the PR bot on a pull request's head, the
canary controller on its own commits (pull requests opened with a workflow token trigger no workflows).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reconciler.core.load import LoadResult
from reconciler.shells.forge import Forge
from reconciler.shells.git import Workspace

VALIDATE_CONTEXT = "edgeops/validate"


@dataclass
class Bot:
    workspace: Workspace
    forge: Forge
    base: str = "main"
    required_checks: Sequence[str] = (VALIDATE_CONTEXT,)


def report_validation(bot: Bot, sha: str, load: LoadResult) -> None:
    """Set `edgeops/validate` on `sha` from how the desired state at that commit loaded."""
    bot.forge.set_status(
        sha,
        context=VALIDATE_CONTEXT,
        state="success" if load.ok else "failure",
        description="desired state valid" if load.ok else f"{len(load.errors)} problem(s) in the desired state",
    )


def checks_green(bot: Bot, sha: str) -> tuple[bool, str]:
    """Whether the policy's required checks passed on `sha`, and why not."""
    state, contexts = bot.forge.combined_status(sha)
    missing = [c for c in bot.required_checks if contexts.get(c) != "success"]
    if state in ("failure", "error"):
        return False, f"checks failing ({state})"
    if missing:
        return False, f"waiting for {', '.join(missing)}"
    return True, "checks green"
