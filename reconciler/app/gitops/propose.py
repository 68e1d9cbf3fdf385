"""Turn a verdict into git: edit the zone files of the wave, commit on the canary's branch, push, open or update
its pull request, and merge when allowed — rollbacks at once, steps and promotions when the policy says
auto-merge and the required checks are green. Every merge passes the guardrail first (`guard.merge_guarded`).

Idempotent: the branch is `edgeops/canary/<zone-or-wave>/<model>`; a rerun with the same decision reuses the
pushed commit and the open PR (a restart between push and PR creation just creates the PR). A step's
`stepStartedAt` is the time of the analysis that first proposed it; a rerun that proposes the same step again
keeps the stamp already on the branch, so the commit (and the checks on it) stays the same.

A verdict is for the canary version and step it analysed: when `main` now holds another one (a person moved,
replaced or ended the canary), `StaleVerdict` is raised before anything is committed.

The pull request's body is a bounded summary; the per-zone evidence goes into the bot's evidence comments on it,
edited in place by every run (split under GitHub's limit, stale parts emptied). They are written after the merge
call: a rollback must not wait for dozens of comments on a large wave, and a comment the forge refuses must not
stop the rollback. A failure to write them is reported in the proposal (`evidence_error`), not raised — the
change in git is what matters, and the next run writes them again.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from reconciler.app.desired import load_desired
from reconciler.app.gitops.guard import GuardrailRefused, merge_guarded
from reconciler.app.gitops.handle import Bot, checks_green, report_validation
from reconciler.core.canary import (
    LATEST_MARKER,
    CanaryGroup,
    Decision,
    HoldReason,
    StaleCanary,
    Verdict,
    ZoneFileError,
    body,
    commit_message,
    evidence_text,
    labels,
    parse_zone,
    promote,
    rollback,
    set_step,
    title,
)
from reconciler.core.spec import Canary, FleetSpec
from reconciler.shells.forge import ForgeError, MergeRefused, PullInfo, upsert
from reconciler.shells.git import Workspace, branch_for_canary


class CannotPropose(Exception):
    """The change cannot be written on the base: a zone or its file is missing there, or the file does not
    parse as a zone. Nothing was pushed."""


class StaleVerdict(CannotPropose):
    """The base no longer holds the canary version and step the verdict was made for. Nothing was pushed; the
    next analysis judges the canary as it is now."""


@dataclass(frozen=True)
class Proposal:
    pull: PullInfo
    created: bool
    merged: bool
    note: str = ""
    refusals: tuple[str, ...] = field(default_factory=tuple)
    evidence_error: str | None = None  # why the evidence comments could not be written (the change stands)


def zone_path(spec: FleetSpec, zone: str) -> str:
    found = spec.zone(zone)
    if found is None:
        raise CannotPropose(f"no zone {zone!r} in the desired state")
    return f"zones/{found.spec.region}/{zone}.yaml"


def _edit(path: str, text: str, model: str, verdict: Verdict, started: datetime | None) -> str:
    expect = verdict.analysed
    try:
        if verdict.decision is Decision.ROLLBACK:
            return rollback(path, text, model, expect=expect)
        if verdict.decision is Decision.PROMOTE:
            return promote(path, text, model, expect=expect)
        if verdict.decision is Decision.ADVANCE and verdict.next_weight is not None and started is not None:
            return set_step(
                path,
                text,
                model,
                expect=expect,
                phase=verdict.next_phase or "live",
                weight=verdict.next_weight,
                started=started,
            )
    except StaleCanary as error:
        raise StaleVerdict(str(error)) from error
    except ZoneFileError as error:
        raise CannotPropose(str(error)) from error
    raise ValueError(f"nothing to write for a {verdict.decision.value} verdict")


def _step_started(ws: Workspace, branch: str, base: str, path: str, *, model: str, verdict: Verdict) -> datetime:
    """When the proposed step starts: the stamp the canary's unmerged branch already carries for this very step
    (same version, phase and weight, later than the base's own step), else the time of this analysis."""
    if verdict.decided_at is None:
        raise ValueError("an advance verdict needs the time it was made (decided_at)")
    tip = ws.remote_tip(branch)
    if tip is None or ws.contains(ws.resolve(base), tip):
        return verdict.decided_at
    try:
        proposed, current = (_canary_at(ws, rev, path, model) for rev in (tip, base))
    except ZoneFileError:
        return verdict.decided_at
    target = (verdict.analysed.version, verdict.next_phase or "live", verdict.next_weight)
    if (
        proposed is None
        or proposed.step_started_at is None
        or (proposed.version, proposed.phase, proposed.weight) != target
        or (current is not None and proposed.step_started_at <= current.step_started)
    ):
        return verdict.decided_at
    return proposed.step_started_at


def _canary_at(ws: Workspace, rev: str, path: str, model: str) -> Canary | None:
    text = ws.read_bytes(rev, path)  # as committed: a branch someone pushed to may hold anything
    assignment = parse_zone(path, text).assignment(model) if text is not None else None
    return assignment.canary if assignment is not None else None


def validate_commit(bot: Bot, sha: str) -> bool:
    """Run the same validation as the PR workflow on our own commit and report it as `edgeops/validate` (pull
    requests opened with a workflow token trigger no workflows, and a rollback must not wait for one)."""
    load = load_desired(Path(bot.workspace.repo.path), sha)
    report_validation(bot, sha, load)
    return load.ok


def note_hold(bot: Bot, group: CanaryGroup, verdict: Verdict) -> int | None:
    """While a canary holds, its open pull request (if any) shows the latest analysis in one comment, edited in
    place, so nobody merges a waiting step on stale evidence. An inconclusive hold is also said where nothing is
    open: on the canary's newest pull request (the one that moved it to this step). Returns the PR number, or
    None when there is none to comment on."""
    branch = branch_for_canary(group.key, group.model)
    pull = bot.forge.find_open_pull(branch)
    if pull is None and verdict.hold_reason is HoldReason.INCONCLUSIVE:
        pull = bot.forge.find_latest_pull(branch)
    if pull is None:
        return None
    upsert(bot.forge, pull.number, LATEST_MARKER, body(group, verdict, hold=True))
    upsert(bot.forge, pull.number, *evidence_text(group, verdict, hold=True))
    return pull.number


def _write_evidence(bot: Bot, proposal: Proposal, group: CanaryGroup, verdict: Verdict) -> Proposal:
    try:
        upsert(bot.forge, proposal.pull.number, *evidence_text(group, verdict))
    except ForgeError as error:
        why = f"evidence comments not written: {error}"
        return replace(proposal, note=f"{proposal.note}; {why}", evidence_error=why)
    return proposal


def propose(
    bot: Bot, spec: FleetSpec, group: CanaryGroup, verdict: Verdict, *, manual_by: str | None = None
) -> Proposal:
    """Commit, push, open or update the pull request, merge it when allowed, then write its evidence comments."""
    proposal = _propose(bot, spec, group, verdict, manual_by=manual_by)
    return _write_evidence(bot, proposal, group, verdict)


def _propose(bot: Bot, spec: FleetSpec, group: CanaryGroup, verdict: Verdict, *, manual_by: str | None) -> Proposal:
    if not verdict.decision.changes_git:
        raise ValueError("a hold changes nothing in git")
    ws = bot.workspace
    ws.fetch()
    base = f"origin/{bot.base}"
    branch = branch_for_canary(group.key, group.model)
    files = {}
    for zone in group.zones:
        path = zone_path(spec, zone)
        text = ws.read(base, path)
        if text is None:
            raise CannotPropose(f"{path} is not on {bot.base}")
        started = (
            _step_started(ws, branch, base, path, model=group.model, verdict=verdict)
            if verdict.decision is Decision.ADVANCE
            else None
        )
        files[path] = _edit(path, text, group.model, verdict, started)
    head = ws.commit_on_branch(branch, base, files, commit_message(group, verdict, manual=manual_by is not None))
    ws.push(branch)
    validate_commit(bot, head)
    pull, created = bot.forge.open_or_update_pull(
        branch=branch,
        base=bot.base,
        title=title(group, verdict, manual=manual_by is not None),
        body=body(group, verdict, manual_by=manual_by),
        labels=labels(verdict),
    )
    policy = group.policy.spec
    if verdict.decision is Decision.ROLLBACK:
        if policy.rollback != "auto-merge" and manual_by is None:
            return Proposal(pull, created, False, "rollback needs review (policy rollback: review)")
    else:
        if policy.promotion != "auto-merge" and manual_by is None:
            return Proposal(pull, created, False, "waiting for review (policy promotion: review)")
        green, why = checks_green(bot, pull.head_sha)
        if not green:
            return Proposal(pull, created, False, why)
    try:
        merge_guarded(bot.workspace, bot.forge, pull, message=f"{pull.title} (#{pull.number})")
    except GuardrailRefused as refused:
        return Proposal(pull, created, False, "not merged: the guardrail refused", refused.problems)
    except MergeRefused as error:
        return Proposal(pull, created, False, f"not merged: {error}")
    return Proposal(bot.forge.pull(pull.number), created, True, "merged")
