"""The PR bot on a pull request (opened or pushed again): validate the head revision, compute the per-zone plan,
post it as one comment that later pushes edit in place, report `edgeops/validate`, and print GitHub annotations
for invalid lines.

Plans are computed against the live clusters when a kubeconfig is configured (`PullOptions.kubeconfig`), else
by rendering the head against `main` (no credentials needed, e.g. for pull requests from forks).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reconciler.app.desired import load_desired
from reconciler.app.gitops import Bot, report_validation
from reconciler.app.reconcile import DesiredStateInvalid, RegionOptions, plan_region, repository_history
from reconciler.core.bot import code, inline, preview_region, workflow_commands
from reconciler.core.load import LoadResult
from reconciler.core.plan import format_markdown
from reconciler.core.render import DEFAULT_NAMESPACE, RenderOptions
from reconciler.shells.forge import upsert

PLAN_MARKER = "plan"


@dataclass(frozen=True)
class PullOptions:
    kubeconfig: Path | None = None
    namespace: str = DEFAULT_NAMESPACE  # the namespace edgeops uses in every zone (as `edgeops reconcile --namespace`)


@dataclass(frozen=True)
class PullReport:
    number: int
    head_sha: str
    valid: bool
    comment_ids: tuple[int, ...]
    annotations: str
    body: str


def _problems_markdown(load: LoadResult) -> list[str]:
    out = ["| file | line | code | problem |", "|---|---|---|---|"]
    out += [f"| {code(p.file)} | {p.line}:{p.column} | {code(p.code)} | {inline(p.message)} |" for p in load.problems]
    return out


def plan_markdown(bot: Bot, load: LoadResult, options: PullOptions) -> str:
    assert load.spec is not None
    base = load_desired(Path(bot.workspace.repo.path), f"origin/{bot.base}")
    sections = []
    for region in load.spec.fleet.spec.regions:
        if options.kubeconfig is not None:
            try:
                plans = plan_region(
                    load,
                    region.name,
                    RegionOptions(kubeconfig=options.kubeconfig, render=RenderOptions(namespace=options.namespace)),
                    history=repository_history(Path(bot.workspace.repo.path)),
                )
            except DesiredStateInvalid as error:
                sections.append(f"### {inline(region.name)}\n\n{inline(error)}\n")
                continue
            how = "against the live clusters"
        else:
            plans = preview_region(base.spec, load.spec, region.name)
            how = f"rendered against `{inline(bot.base)}` (no cluster credentials configured)"
        changed = [p for p in plans if p.pending or p.error]
        same = len(plans) - len(changed)
        text = (
            format_markdown(changed, region=region.name, revision=load.revision)
            if changed
            else (f"### edgeops plan for region {inline(region.name)}\n\nNo changes.\n")
        )
        sections.append(f"{text}\n_Plan {how}; {same} zone(s) unchanged._\n")
    return "\n".join(sections)


def handle_pull(bot: Bot, number: int, options: PullOptions | None = None) -> PullReport:
    options = options or PullOptions()
    pull = bot.forge.pull(number)
    bot.workspace.fetch()
    bot.workspace.fetch_pull(number)  # a fork's head is only reachable as refs/pull/<n>/head
    head = pull.head_sha
    load = load_desired(Path(bot.workspace.repo.path), head)
    header = f"## edgeops: pull request #{number} at {code(head[:12])}\n"
    if not load.ok:
        body = "\n".join(
            [
                header,
                f":x: **The desired state does not load** ({len(load.errors)} error(s)).",
                "",
                *_problems_markdown(load),
                "",
            ]
        )
    else:
        warnings = ["", f"{len(load.warnings)} warning(s):", "", *_problems_markdown(load)] if load.problems else []
        body = "\n".join(
            [header, ":white_check_mark: The desired state is valid.", *warnings, "", plan_markdown(bot, load, options)]
        )
    ids = upsert(bot.forge, number, PLAN_MARKER, body)
    report_validation(bot, head, load)
    return PullReport(number, head, load.ok, ids, workflow_commands(load.problems), body)
