"""The whole desired state of a fleet at one revision: what `load` produces and `render` consumes."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from reconciler.core.spec.fleet import Fleet, Region
from reconciler.core.spec.model import Model
from reconciler.core.spec.policy import CanaryPolicy
from reconciler.core.spec.zone import ModelAssignment, Zone


@dataclass(frozen=True)
class FleetSpec:
    fleet: Fleet
    policies: dict[str, CanaryPolicy] = field(default_factory=dict)
    zones: tuple[Zone, ...] = ()
    models: dict[str, Model] = field(default_factory=dict)
    public_keys: dict[str, str] = field(default_factory=dict)  # fleet/keys/*.pub path -> PEM text

    def signing_keys(self, region: str) -> dict[str, str]:
        """The PEM public keys `region` trusts for model artifacts, by key file path (empty: none declared)."""
        declared = self.region(region)
        paths = declared.model_signing_keys if declared is not None else ()
        missing = [p for p in paths if p not in self.public_keys]
        if missing:  # the loader reports these; a spec built without it must not silently trust fewer keys
            raise ValueError(f"region {region}: no PEM text for {', '.join(missing)}")
        return {p: self.public_keys[p] for p in paths}

    def region(self, name: str) -> Region | None:
        return self.fleet.region(name)

    def zones_in(self, region: str) -> tuple[Zone, ...]:
        return tuple(z for z in self.zones if z.spec.region == region)

    def zone(self, name: str) -> Zone | None:
        return next((z for z in self.zones if z.name == name), None)

    def with_region_hub(self, region: str, hub_url: str) -> FleetSpec:
        """The same fleet with `region`'s NATS hub at `hub_url` (local sandboxes and tests run their own hub)."""
        regions = tuple(
            r.model_copy(update={"nats_hub": hub_url}) if r.name == region else r for r in self.fleet.spec.regions
        )
        fleet = self.fleet.model_copy(update={"spec": self.fleet.spec.model_copy(update={"regions": regions})})
        return replace(self, fleet=fleet)

    def policy_for(self, assignment: ModelAssignment) -> CanaryPolicy | None:
        if assignment.canary is None:
            return None
        name = assignment.canary.policy or self.fleet.spec.default_canary_policy
        return self.policies.get(name)
