"""The canary controller's pass: analyse every canary of a region on the base branch, then act on each verdict
through pull requests (`reconciler.app.gitops`) — `edgeops canary run` runs it once or in a loop.

    metrics = ControllerMetrics("eu-west")
    done = controller_pass(bot, prom, "eu-west", now=datetime.now(UTC), metrics=metrics)
    for outcome in done.outcomes: print(outcome.line())

A step is baked from when it landed on the base branch when that is later than its `stepStartedAt` (`landing`: a
step merged after review is judged only on traffic since the merge).

One bad canary never stops the others: any exception while measuring, judging or acting on one canary (not a
list of expected ones) is that canary's outcome — logged, counted in `edgeops_canary_errors_total{stage}` and said
in one comment on its pull request where it has one — and the pass goes on. Rollbacks are acted on first, so a
canary that is slow or failing to act on never delays a rollback elsewhere in the region.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, start_http_server

from reconciler.app.canary.analyze import Analysis, AnalyzeOptions, analyze_group
from reconciler.app.canary.landing import baked_from_landing
from reconciler.app.desired import load_desired
from reconciler.app.gitops import Bot, Proposal, note_hold, propose
from reconciler.core.bot import inline
from reconciler.core.canary import CanaryGroup, Decision, canary_groups
from reconciler.core.spec import Notifications
from reconciler.shells.forge import upsert
from reconciler.shells.git import branch_for_canary
from reconciler.shells.prometheus import Prometheus

log = logging.getLogger("edgeops.canary")

ERROR_MARKER = "canary:error"


class ControllerMetrics:
    """One registry per controller (tests run several in one process)."""

    def __init__(self, region: str) -> None:
        self.region = region
        self.registry = CollectorRegistry()
        self.errors = Counter(
            "edgeops_canary_errors",
            "Canaries whose analysis or action failed in a pass (the pass went on with the others)",
            ["region", "model", "stage"],
            registry=self.registry,
        )
        self.verdicts = Counter(
            "edgeops_canary_verdicts",
            "Verdicts reached, by decision",
            ["region", "model", "decision"],
            registry=self.registry,
        )
        self.merged = Counter(
            "edgeops_canary_merged",
            "Canary pull requests merged by the controller, by decision",
            ["region", "model", "decision"],
            registry=self.registry,
        )

    def serve(self, port: int, host: str = "127.0.0.1") -> Any:
        """Start the `/metrics` server; returns the server (stop it with `.shutdown()` then `.server_close()`)."""
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        return server


@dataclass(frozen=True)
class CanaryOutcome:
    group: CanaryGroup
    analysis: Analysis | None = None  # None: the analysis itself failed
    proposal: Proposal | None = None  # the pull request acted on (steps, promotions, rollbacks)
    error: str | None = None  # what failed, and at which stage ('analysis' or 'action')

    def line(self) -> str:
        g = self.group
        head = f"{g.model} {g.version} in {','.join(g.zones)}: "
        if self.analysis is None:
            return head + f"error: {self.error}"
        text = head + self.analysis.verdict.summary()
        if self.proposal is not None:
            state = "merged" if self.proposal.merged else self.proposal.note
            text += f"\n  → #{self.proposal.pull.number} {self.proposal.pull.title}: {state}"
        if self.error is not None:
            text += f"\n  error: {self.error}"
        return text


@dataclass(frozen=True)
class ControllerPass:
    revision: str | None
    outcomes: tuple[CanaryOutcome, ...] = ()
    problems: tuple[str, ...] = ()  # the base branch does not load: nothing analysed
    notifications: Notifications | None = None  # the base branch's spec.notifications (where outcomes are announced)

    @property
    def failed(self) -> bool:
        return bool(self.problems) or any(o.error is not None for o in self.outcomes)


def _urgency(analysis: Analysis) -> int:
    return 0 if analysis.verdict.decision is Decision.ROLLBACK else 1


def controller_pass(
    bot: Bot,
    prom: Prometheus,
    region: str,
    *,
    now: datetime,
    options: AnalyzeOptions | None = None,
    metrics: ControllerMetrics | None = None,
    on_merged: Callable[[CanaryGroup, Proposal], None] | None = None,
) -> ControllerPass:
    """Fetch the base branch, analyse every canary of `region`, act on each verdict (rollbacks first). Raises the
    shells' errors only when the repository itself cannot be fetched; everything about one canary stays its own."""
    opts = options or AnalyzeOptions()
    watch = metrics or ControllerMetrics(region)
    bot.workspace.fetch()
    load = load_desired(Path(bot.workspace.repo.path), f"origin/{bot.base}")
    if load.spec is None:
        return ControllerPass(load.revision, problems=tuple(str(p) for p in load.errors))
    spec = load.spec
    failed: list[CanaryOutcome] = []
    analyses: list[Analysis] = []
    for group in canary_groups(spec, region):
        try:
            baking = baked_from_landing(bot.workspace, f"origin/{bot.base}", spec, group)
            analyses.append(analyze_group(spec, baking, prom, now, opts))
        except Exception as error:  # any failure of one canary is that canary's alone
            failed.append(_failure(bot, watch, group, None, stage="analysis", error=error))
    acted: list[CanaryOutcome] = []
    for analysis in sorted(analyses, key=_urgency):
        group, verdict = analysis.group, analysis.verdict
        watch.verdicts.labels(region, group.model, verdict.decision.value).inc()
        try:
            if not verdict.decision.changes_git:
                note_hold(bot, group, verdict)
                acted.append(CanaryOutcome(group, analysis))
                continue
            proposal = propose(bot, spec, group, verdict)
        except Exception as error:  # any failure of one canary is that canary's alone
            acted.append(_failure(bot, watch, group, analysis, stage="action", error=error))
            continue
        acted.append(CanaryOutcome(group, analysis, proposal))
        if proposal.merged:
            watch.merged.labels(region, group.model, verdict.decision.value).inc()
            if on_merged is not None:
                _after_merge(on_merged, group, proposal)
    return ControllerPass(load.revision, (*acted, *failed), notifications=spec.fleet.spec.notifications)


def _after_merge(hook: Callable[[CanaryGroup, Proposal], None], group: CanaryGroup, proposal: Proposal) -> None:
    try:
        hook(group, proposal)
    except Exception:  # the merge stands; the region loop's polling still applies it
        log.exception("after-merge hook failed", extra={"model": group.model, "pull": proposal.pull.number})


def _failure(
    bot: Bot,
    metrics: ControllerMetrics,
    group: CanaryGroup,
    analysis: Analysis | None,
    *,
    stage: str,
    error: Exception,
) -> CanaryOutcome:
    what = f"{stage} failed: {type(error).__name__}: {error}"
    metrics.errors.labels(metrics.region, group.model, stage).inc()
    log.error(
        "canary failed; the others go on",
        extra={
            "region": metrics.region,
            "model": group.model,
            "version": group.version,
            "zones": ",".join(group.zones),
            "stage": stage,
            "error": what,
            "trace": "".join(traceback.format_exception(error)[-3:]),
        },
    )
    _note_error(bot, group, what)
    return CanaryOutcome(group, analysis, error=what)


def _note_error(bot: Bot, group: CanaryGroup, what: str) -> None:
    """Say the failure on the canary's open pull request (one comment, edited in place); never raises."""
    try:
        pull = bot.forge.find_open_pull(branch_for_canary(group.key, group.model))
        if pull is not None:
            text = (
                f"**The canary controller could not handle this canary in its last pass** — {inline(what)}\n\n"
                "The other canaries of the region went on; the next pass tries this one again."
            )
            upsert(bot.forge, pull.number, ERROR_MARKER, text)
    except Exception:
        log.exception("cannot report a canary's failure on its pull request", extra={"model": group.model})
