"""After a merge: how far each region's zones have come to the merged revision, as commit statuses
`edgeops/<region>` and one report comment on the pull request (edited in place on later runs).

The source is the reconcilers' own record: the inventory each region loop writes into every zone (the revision
it applied and the zone status). A zone counts as rolled out when its reconciler applied the merged revision (or
a later one containing it) and reported `Synced`; a paused zone has then applied that revision's rollbacks and
nothing else, and says so. Without cluster credentials the statuses stay `pending` with
that reason: nothing is claimed that was not seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reconciler.app.desired import load_desired
from reconciler.app.gitops import Bot
from reconciler.app.reconcile import InventoryUnreadable, connect_zone, read_inventory
from reconciler.core.bot import code, inline
from reconciler.core.plan import ZoneStatus
from reconciler.core.render import DEFAULT_NAMESPACE
from reconciler.core.spec import Zone
from reconciler.shells.forge import upsert
from reconciler.shells.kube import KubeConfigError, KubeError

DEPLOY_MARKER = "deploy"


@dataclass(frozen=True)
class RegionRollout:
    region: str
    state: str  # success | pending | failure
    description: str
    zones: tuple[tuple[str, str], ...]  # (zone, what we saw)


def rollout(
    bot: Bot, sha: str, kubeconfig: Path | None, namespace: str = DEFAULT_NAMESPACE
) -> tuple[RegionRollout, ...]:
    bot.workspace.fetch()
    load = load_desired(Path(bot.workspace.repo.path), sha)
    if load.spec is None:
        return (RegionRollout("all", "failure", "the merged revision does not load", ()),)
    results = []
    for region in load.spec.fleet.spec.regions:
        if kubeconfig is None:
            results.append(RegionRollout(region.name, "pending", "no cluster credentials: rollout not observed", ()))
            continue
        zones = tuple(
            (zone.name, _zone_seen(bot, zone, sha, kubeconfig, namespace))
            for zone in sorted(load.spec.zones_in(region.name), key=lambda z: z.name)
        )
        synced = sum(1 for _, seen in zones if seen.startswith("in sync"))
        failed = any(seen.startswith(("Degraded", "error")) for _, seen in zones)
        state = "success" if synced == len(zones) else ("failure" if failed else "pending")
        results.append(RegionRollout(region.name, state, f"{synced} of {len(zones)} zone(s) in sync", zones))
    return tuple(results)


def _zone_seen(bot: Bot, zone: Zone, sha: str, kubeconfig: Path, namespace: str) -> str:
    """What the zone's reconciler recorded: 'in sync @<rev>', '<Status> @<rev>', 'not yet @<rev>', or 'error: …'."""
    try:
        inventory = read_inventory(connect_zone(zone, kubeconfig), namespace)
    except (InventoryUnreadable, KubeError, KubeConfigError) as error:
        return f"error: {error}"
    if inventory.revision is None:
        return "not applied yet"
    at = f"@{inventory.revision[:12]}"
    if not bot.workspace.contains(inventory.revision, sha):
        return f"not yet ({inventory.status or 'unknown'} {at})"
    paused = f" (paused at {inventory.basis[:12]}: rollbacks only)" if inventory.basis else ""
    if inventory.status == ZoneStatus.SYNCED.value:
        return f"in sync{paused} {at}"
    return f"{inventory.status or 'unknown'}{paused} {at}"


def report_deploy(
    bot: Bot, sha: str, *, number: int | None, kubeconfig: Path | None, namespace: str = DEFAULT_NAMESPACE
) -> tuple[RegionRollout, ...]:
    regions = rollout(bot, sha, kubeconfig, namespace)
    for region in regions:
        bot.forge.set_status(
            sha, context=f"edgeops/{region.region}", state=region.state, description=region.description
        )
    if number is not None:
        lines = [f"## edgeops rollout of {code(sha[:12])}", "", "| region | state | zones |", "|---|---|---|"]
        for r in regions:
            detail = "<br>".join(f"{code(z)}: {inline(seen)}" for z, seen in r.zones) or inline(r.description)
            lines.append(f"| {code(r.region)} | {r.state} | {detail} |")
        upsert(bot.forge, number, DEPLOY_MARKER, "\n".join(lines) + "\n")
    return regions
