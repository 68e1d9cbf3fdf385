"""Which canaries exist in a fleet and how their zones group into waves (zones that are judged together)."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.core.canary.verdict import CanaryStep, Thresholds
from reconciler.core.spec import Canary, CanaryPolicy, FleetSpec


@dataclass(frozen=True)
class CanaryGroup:
    """One canary in one wave: the same model, canary version, policy, phase and weight in every zone.

    `key` names the group in branch names: the zone when it is alone, else the wave's name."""

    model: str
    version: str
    stable_version: str
    policy: CanaryPolicy
    zones: tuple[str, ...]
    wave: str | None
    canary: Canary

    @property
    def step(self) -> CanaryStep:
        """The canary version and step the group's zone files hold (what a verdict on it is made for)."""
        return CanaryStep(self.version, self.canary.phase, self.canary.weight)

    @property
    def key(self) -> str:
        return self.zones[0] if len(self.zones) == 1 else (self.wave or "-".join(self.zones))


def wave_of(policy: CanaryPolicy, zone: str) -> str | None:
    """The first wave that names the zone, else the first '*' wave, else None (the zone moves alone)."""
    for wave in policy.spec.waves:
        if zone in wave.zones:
            return wave.name
    return next((w.name for w in policy.spec.waves if "*" in w.zones), None)


def canary_groups(spec: FleetSpec, region: str | None = None) -> tuple[CanaryGroup, ...]:
    """Every active canary of the fleet (or one region), grouped into waves, in a stable order."""
    groups: dict[tuple[str, ...], list[tuple[str, str, CanaryPolicy, Canary]]] = {}
    for zone in sorted(spec.zones if region is None else spec.zones_in(region), key=lambda z: z.name):
        for assignment in zone.spec.models:
            canary = assignment.canary
            policy = spec.policy_for(assignment)
            if canary is None or policy is None:
                continue
            wave = wave_of(policy, zone.name)
            # Zones without a wave are judged alone; zones of a wave only together while they agree.
            key: tuple[str, ...] = (
                assignment.model,
                canary.version,
                assignment.version,
                policy.metadata.name,
                canary.phase,
                str(canary.weight),
                wave if wave is not None else f"zone:{zone.name}",
            )
            groups.setdefault(key, []).append((zone.name, wave or "", policy, canary))
    result = []
    for group_key, members in groups.items():
        model, version, stable = group_key[0], group_key[1], group_key[2]
        zones = tuple(m[0] for m in members)
        # Zones of a wave move in one pull request; should their step times differ, the latest start counts
        # (a bake is never shortened by a zone that moved earlier).
        canary = max((m[3] for m in members), key=lambda c: c.step_started)
        result.append(CanaryGroup(model, version, stable, members[0][2], zones, members[0][1] or None, canary))
    return tuple(sorted(result, key=lambda g: (g.model, g.zones)))


def thresholds_for(spec: FleetSpec, policy: CanaryPolicy, model: str) -> Thresholds:
    """The strictest of the policy's ceilings, the model's SLO and the fleet's SLO (a model may only tighten)."""
    slo = spec.fleet.spec.slo
    found = spec.models.get(model)
    overrides = found.spec.slo if found is not None else None
    metrics = policy.spec.metrics
    model_latency = overrides.p95_latency_ms if overrides is not None else None
    model_errors = overrides.error_rate_percent if overrides is not None else None
    latency = [v for v in (metrics.p95_latency_ms, model_latency) if v is not None]
    errors = [v for v in (metrics.error_rate_percent, model_errors) if v is not None]
    return Thresholds(
        p95_latency_ms=min(latency) if latency else slo.p95_latency_ms,
        error_rate_percent=min(errors) if errors else slo.error_rate_percent,
        max_ratio_to_stable=metrics.max_ratio_to_stable,
        min_samples=metrics.min_samples,
    )
