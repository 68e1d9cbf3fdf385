"""After a merge: how far each region's zones have come to the merged revision, as commit statuses
`edgeops/<region>` and one report comment on the pull request (edited in place on later runs).

A zone counts as rolled out when a plan of the merged revision against its live cluster has nothing pending.
Without cluster credentials the statuses stay `pending` with that reason: nothing is claimed that was not seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reconciler.app.canary import Bot
from reconciler.app.desired import load_desired
from reconciler.app.reconcile.region import DesiredStateInvalid, RegionOptions, plan_region
from reconciler.core.bot import code, inline
from reconciler.core.render import DEFAULT_NAMESPACE, RenderOptions
from reconciler.shells.forge import upsert

DEPLOY_MARKER = "deploy"


@dataclass(frozen=True)
class RegionRollout:
    region: str
    state: str  # success | pending | failure
    description: str
    zones: tuple[tuple[str, str], ...]  # (zone, what we saw)


def rollout(bot: Bot, sha: str, kubeconfig: Path | None, namespace: str = DEFAULT_NAMESPACE) -> tuple[RegionRollout, ...]:
    bot.workspace.fetch()
    load = load_desired(Path(bot.workspace.repo.path), sha)
    if load.spec is None:
        return (RegionRollout("all", "failure", "the merged revision does not load", ()),)
    results = []
    for region in load.spec.fleet.spec.regions:
        if kubeconfig is None:
            results.append(RegionRollout(region.name, "pending", "no cluster credentials: rollout not observed", ()))
            continue
        try:
            plans = plan_region(load, region.name, RegionOptions(kubeconfig=kubeconfig, render=RenderOptions(namespace=namespace)))
        except DesiredStateInvalid as error:
            results.append(RegionRollout(region.name, "failure", str(error)[:140], ()))
            continue
        zones = tuple(
            (p.zone, f"error: {p.error}" if p.error else ("pending: " + p.all_changes.summary()) if p.pending else "in sync")
            for p in plans
        )
        synced = sum(1 for _, seen in zones if seen == "in sync")
        failed = any(seen.startswith("error") for _, seen in zones)
        state = "success" if synced == len(zones) else ("failure" if failed else "pending")
        results.append(RegionRollout(region.name, state, f"{synced} of {len(zones)} zone(s) in sync", zones))
    return tuple(results)


def report_deploy(
    bot: Bot, sha: str, *, number: int | None, kubeconfig: Path | None, namespace: str = DEFAULT_NAMESPACE
) -> tuple[RegionRollout, ...]:
    regions = rollout(bot, sha, kubeconfig, namespace)
    for region in regions:
        bot.forge.set_status(sha, context=f"edgeops/{region.region}", state=region.state, description=region.description)
    if number is not None:
        lines = [f"## edgeops rollout of {code(sha[:12])}", "", "| region | state | zones |", "|---|---|---|"]
        for r in regions:
            detail = "<br>".join(f"{code(z)}: {inline(seen)}" for z, seen in r.zones) or inline(r.description)
            lines.append(f"| {code(r.region)} | {r.state} | {detail} |")
        upsert(bot.forge, number, DEPLOY_MARKER, "\n".join(lines) + "\n")
    return regions
