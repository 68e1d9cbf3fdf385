"""Rules that span documents: every reference resolves, names and clusters are unique, pinned versions are
verified for the zone's hardware. Each problem points at the referring value."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from reconciler.core.load.problems import Problem, Severity
from reconciler.core.load.yamldoc import Path, YamlDocument
from reconciler.core.nats import subject_overlaps
from reconciler.core.spec import CanaryPolicy, Compat, Fleet, Model, ModelAssignment, Target, Window, Zone

T = TypeVar("T")


@dataclass(frozen=True)
class Loaded(Generic[T]):
    doc: YamlDocument
    spec: T

    def at(self, path: Path, code: str, message: str, severity: Severity = Severity.ERROR) -> Problem:
        pos = self.doc.position(path)
        return Problem(self.doc.path, pos.line, pos.column, code, message, severity)


@dataclass
class Documents:
    """What the loader accumulated, for the cross-document rules."""

    fleet: Loaded[Fleet] | None
    policies: dict[str, Loaded[CanaryPolicy]]
    zones: list[Loaded[Zone]]
    models: dict[str, Loaded[Model]]
    # Names whose document exists but failed to load: references to them are not reported again.
    broken_policies: set[str] = field(default_factory=set)
    broken_models: set[str] = field(default_factory=set)
    broken_zones: set[str] = field(default_factory=set)
    broken_fleet: bool = False


def _known(names: Iterable[str]) -> str:
    listed = sorted(names)
    return ", ".join(listed) if listed else "none"


def check(docs: Documents) -> list[Problem]:
    problems = list(_fleet_rules(docs))
    problems += _zone_uniqueness(docs)
    for zone in docs.zones:
        problems += _zone_rules(docs, zone)
    problems += _policy_rules(docs)
    return problems


def _fleet_rules(docs: Documents) -> Iterator[Problem]:
    if docs.fleet is None:
        return
    spec = docs.fleet.spec.spec
    seen: set[str] = set()
    for i, region in enumerate(spec.regions):
        if region.name in seen:
            yield docs.fleet.at(
                ("spec", "regions", i, "name"), "ref.duplicate-region", f"region {region.name!r} is defined twice"
            )
        seen.add(region.name)
    default = spec.default_canary_policy
    if default not in docs.policies and default not in docs.broken_policies:
        yield docs.fleet.at(
            ("spec", "defaultCanaryPolicy"),
            "ref.unknown-policy",
            f"default canary policy {default!r} is not defined in fleet/policies/ (defined: {_known(docs.policies)})",
        )


_DEFAULT_PORTS = {"https": 443, "http": 80}
_SERVER = re.compile(
    r"(?i)(?P<scheme>[a-z][a-z0-9+.-]*)://(?P<host>\[[^\]]+\]|[^/:\s]+)(?::(?P<port>\d+))?(?P<path>/.*)?"
)


def same_server(url: str) -> str:
    """An API server URL reduced to what selects the server: scheme, host and port (case and an explicit default
    port or trailing slash do not make another cluster)."""
    found = _SERVER.fullmatch(url.strip())
    if found is None:
        return url.strip().rstrip("/").lower()
    scheme, host, port, path = found.group("scheme", "host", "port", "path")
    scheme = scheme.lower()
    number = int(port) if port else _DEFAULT_PORTS.get(scheme)
    return f"{scheme}://{host.lower().rstrip('.')}:{number}{(path or '').rstrip('/')}"


def _zone_uniqueness(docs: Documents) -> Iterator[Problem]:
    names: dict[str, Loaded[Zone]] = {}
    # Two zones are the same cluster when they name the same kubeconfig context or the same API server.
    clusters: dict[str, Loaded[Zone]] = {}
    domains: dict[tuple[str, str], Loaded[Zone]] = {}
    for zone in docs.zones:
        spec = zone.spec
        if (first := names.get(spec.name)) is not None:
            yield zone.at(
                ("metadata", "name"), "ref.duplicate-zone", f"zone {spec.name!r} is also defined in {first.doc.path}"
            )
        names.setdefault(spec.name, zone)
        cluster = spec.spec.cluster
        keys = [(("spec", "cluster", "context"), f"context {cluster.context}")] if cluster.context else []
        if cluster.server:
            keys.append((("spec", "cluster", "server"), f"server {same_server(cluster.server)}"))
        for path, key in keys:
            if (first := clusters.get(key)) is not None and first is not zone:
                yield zone.at(
                    path,
                    "ref.duplicate-cluster",
                    f"zone {spec.name!r} uses the same cluster ({key}) as zone {first.spec.name!r} ({first.doc.path})",
                )
            clusters.setdefault(key, zone)
        domain = (spec.spec.region, spec.spec.nats.domain)
        if (first := domains.get(domain)) is not None:
            yield zone.at(
                ("spec", "nats", "domain"),
                "ref.duplicate-nats-domain",
                f"JetStream domain {domain[1]!r} is already used by zone {first.spec.name!r} in region {domain[0]!r}",
            )
        domains.setdefault(domain, zone)


def _zone_rules(docs: Documents, zone: Loaded[Zone]) -> Iterator[Problem]:
    spec = zone.spec.spec
    if docs.fleet is not None and docs.fleet.spec.region(spec.region) is None:
        regions = [r.name for r in docs.fleet.spec.spec.regions]
        yield zone.at(
            ("spec", "region"),
            "ref.unknown-region",
            f"region {spec.region!r} is not defined in fleet/fleet.yaml (defined: {_known(regions)})",
        )
    for first, second in subject_overlaps(zone.spec):
        where = second.path or first.path or ("spec", "models")
        yield zone.at(
            where,
            "ref.overlapping-subjects",
            f"{second.what} {second.subject!r} overlaps {first.what} {first.subject!r}: their JetStream streams would "
            "capture the same messages",
        )
    pools = {p.name for p in spec.node_pools}
    seen_models: set[str] = set()
    target = spec.hardware.target
    for i, assignment in enumerate(spec.models):
        here: Path = ("spec", "models", i)
        if assignment.model in seen_models:
            yield zone.at(
                (*here, "model"),
                "ref.duplicate-assignment",
                f"model {assignment.model!r} is assigned twice in this zone",
            )
        seen_models.add(assignment.model)
        if assignment.node_pool is not None and assignment.node_pool not in pools:
            yield zone.at(
                (*here, "nodePool"),
                "ref.unknown-node-pool",
                f"node pool {assignment.node_pool!r} is not declared in spec.nodePools (declared: {_known(pools)})",
            )
        canary = assignment.canary
        if (
            canary is not None
            and canary.policy is not None
            and canary.policy not in docs.policies
            and canary.policy not in docs.broken_policies
        ):
            yield zone.at(
                (*here, "canary", "policy"),
                "ref.unknown-policy",
                f"canary policy {canary.policy!r} is not defined in fleet/policies/ (defined: {_known(docs.policies)})",
            )
        model = docs.models.get(assignment.model)
        if model is None:
            if assignment.model not in docs.broken_models:
                yield zone.at(
                    (*here, "model"),
                    "ref.unknown-model",
                    f"model {assignment.model!r} has no models/{assignment.model}/model.yaml (defined: {_known(docs.models)})",
                )
            continue
        yield from _window_key(zone, here, assignment, model.spec.spec.window)
        pinned = [((*here, "version"), assignment.version)]
        if canary is not None:
            pinned.append(((*here, "canary", "version"), canary.version))
        for path, version in pinned:
            release = model.spec.spec.version(version)
            if release is None:
                listed = [v.version for v in model.spec.spec.versions]
                yield zone.at(
                    path,
                    "ref.unknown-version",
                    f"model {assignment.model!r} has no version {version} (listed: {_known(listed)})",
                )
                continue
            label = f"{assignment.model} {version}"
            yield from _compat(zone, path, label, release.compat, target, placeholder=release.artifact.placeholder)


def _window_key(zone: Loaded[Zone], here: Path, assignment: ModelAssignment, window: Window) -> Iterator[Problem]:
    """The window key names an entity (a card, a device), not a measurement: the runtime refuses a key that is also
    a numeric feature field, and with partitions its value is the subject's last token, which a number such as
    12.5 cannot be."""
    key = assignment.window_key or window.key
    fields = {f.field for f in window.features if f.field is not None}
    if key not in fields:
        return
    where = (*here, "windowKey") if assignment.window_key is not None else (*here, "model")
    why = (
        f"with partitions: {assignment.partitions} sensors publish '{assignment.input}.<{key}>', and a number "
        "such as 12.5 is not a subject token"
        if assignment.partitioned
        else "the runtime refuses a key that is also a feature"
    )
    yield zone.at(
        where,
        "ref.window-key-is-feature",
        f"model {assignment.model!r}: window key {key!r} is a numeric feature field of the model; {why}. "
        "Key the window by the entity a record belongs to (e.g. card_id, device_id)",
    )


def _compat(
    zone: Loaded[Zone], path: Path, label: str, compat: Compat, target: Target, *, placeholder: bool
) -> Iterator[Problem]:
    hardware = zone.spec.spec.hardware
    result = compat.for_target(target)
    if result.result == "pass":
        return
    if target == "gpu" and hardware.fallback == "cpu" and compat.cpu.result == "pass":
        yield zone.at(
            path,
            "ref.compat-fallback",
            f"{label} is not verified on GPU ({result.result}); it will be served by the CPU provider (hardware.fallback: cpu)",
            Severity.WARNING,
        )
        return
    if placeholder and result.result == "not-run":  # nothing could be checked yet; a recorded fail still counts
        yield zone.at(
            path,
            "ref.placeholder-artifact",
            f"{label} is a placeholder artifact: compat {target} is unverified until it is built and checked "
            "(edgeops model build / compat)",
            Severity.WARNING,
        )
        return
    reason = f" ({result.reason})" if result.reason else ""
    needs = f"{target}: pass" + (" (or cpu: pass with hardware.fallback: cpu)" if target == "gpu" else "")
    yield zone.at(
        path,
        "ref.compat-not-passed",
        f"{label} has compat {target}: {result.result}{reason}; this zone ({hardware.arch}, accelerator "
        f"{hardware.accelerator}, runtime {hardware.runtime}) needs {needs}",
    )


def _policy_rules(docs: Documents) -> Iterator[Problem]:
    zone_names = {z.spec.name for z in docs.zones}
    for policy in docs.policies.values():
        seen: set[str] = set()
        for w, wave in enumerate(policy.spec.spec.waves):
            for z, name in enumerate(wave.zones):
                path: Path = ("spec", "waves", w, "zones", z)
                if name == "*":
                    continue
                if name not in zone_names and name not in docs.broken_zones:
                    yield policy.at(
                        path,
                        "ref.unknown-zone",
                        f"wave {wave.name!r} names zone {name!r}, which is not defined under zones/",
                    )
                if name in seen:
                    yield policy.at(path, "ref.duplicate-wave-zone", f"zone {name!r} appears in more than one wave")
                seen.add(name)
