"""render: the template fleet and generated variations of it.

Matrix: determinism (same input -> byte-identical YAML, for every zone of both regions and for hypothesis-generated
zones: replicas (with partitions above 1), canary phase/weight, node pools, arch, GPU); ownership labels, revision and content-hash
annotations on every object; kinds and stages per zone (canary workload only while a canary is active; a StatefulSet for a partitioned model); GPU
resource only on GPU zones; arch and node-pool placement; runtime.json validates as the runtime's RuntimeConfig;
content hash ignores the revision but follows the content; placeholder artifacts noted; unknown zone refused.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.app.desired import load_desired
from reconciler.core.render import (
    CONTENT_HASH,
    MANAGED_BY,
    MODEL,
    REVISION,
    ZONE,
    RenderError,
    RenderOptions,
    Stage,
    render_region,
    render_zone,
)
from reconciler.core.spec import FleetSpec, Zone
from reconciler.core.spec.zone import Canary, NodePool
from runtime.config import RuntimeConfig, Track

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[3]
REV = "0123456789abcdef0123456789abcdef01234567"
WORKLOADS = ("Deployment", "StatefulSet")


@pytest.fixture(scope="module")
def spec() -> FleetSpec:
    loaded = load_desired(REPO)
    assert loaded.spec is not None, loaded.errors
    return loaded.spec


def _yaml(spec: FleetSpec, zone: Zone, revision: str = REV) -> str:
    return "".join(m.to_yaml() for m in render_zone(spec, zone, revision))


def test_every_template_zone_renders_byte_identically_twice(spec: FleetSpec) -> None:
    for zone in spec.zones:
        assert _yaml(spec, zone) == _yaml(spec, zone)


def test_every_object_carries_ownership_labels_revision_and_hash(spec: FleetSpec) -> None:
    for zone in spec.zones:
        for manifest in render_zone(spec, zone, REV):
            meta = manifest.obj()["metadata"]
            assert meta["labels"][MANAGED_BY] == "edgeops", manifest.ref
            assert meta["labels"][ZONE] == zone.name
            assert MODEL in meta["labels"]
            assert meta["annotations"][REVISION] == REV
            assert meta["annotations"][CONTENT_HASH].startswith("sha256:")


def test_kinds_of_a_zone_with_a_live_canary(spec: FleetSpec) -> None:
    zone = spec.zone("ams-01")
    assert zone is not None
    rendered = render_zone(spec, zone, REV)
    refs = {(m.ref.kind, m.ref.name) for m in rendered}
    assert refs == {
        ("Namespace", "edgeops"),
        ("NodePool", "ams-01-edge"),
        ("ServiceAccount", "edgeops-runtime"),
        ("Role", "edgeops-runtime"),
        ("RoleBinding", "edgeops-runtime"),
        ("HelmChart", "nats"),
        ("ConfigMap", "fraud-scoring-runtime"),
        ("ConfigMap", "fraud-scoring-canary-runtime"),
        # partitions: 12 -> StatefulSets (pods with ordinals), tests/unit/nats/test_partitions.py
        ("StatefulSet", "fraud-scoring"),
        ("StatefulSet", "fraud-scoring-canary"),
        ("Service", "fraud-scoring-metrics"),
        ("Service", "fraud-scoring-canary-metrics"),
        ("PodDisruptionBudget", "fraud-scoring"),
        ("PodDisruptionBudget", "fraud-scoring-canary"),
    }
    stages = [m.stage for m in rendered]
    assert stages == sorted(stages)
    assert rendered.manifests[0].ref.kind == "Namespace"
    assert {m.ref.kind for m in rendered.by_stage(Stage.FOUNDATION)} >= {"Namespace", "NodePool", "Role", "HelmChart"}


def test_runtime_config_is_the_runtime_contract(spec: FleetSpec) -> None:
    zone = spec.zone("ams-01")
    assert zone is not None
    configs = {
        m.ref.name: RuntimeConfig.model_validate_json(m.obj()["data"]["runtime.json"])
        for m in render_zone(spec, zone, REV)
        if m.ref.kind == "ConfigMap"
    }
    stable, canary = configs["fraud-scoring-runtime"], configs["fraud-scoring-canary-runtime"]
    assert stable.zone == "ams-01"
    assert stable.models[0].track is Track.STABLE
    assert stable.models[0].version == "1.0.0"
    assert canary.models[0].track is Track.CANARY
    assert canary.models[0].version == "1.1.0"
    assert stable.models[0].artifact.ref.startswith("registry.eu-west.acme.example/")
    assert stable.models[0].window.key == "card_id"


def test_placement_and_gpu_resources(spec: FleetSpec) -> None:
    def pod(zone_name: str, deployment: str) -> dict[str, object]:
        zone = spec.zone(zone_name)
        assert zone is not None
        found = [m for m in render_zone(spec, zone, REV) if m.ref.kind in WORKLOADS and m.ref.name == deployment]
        spec_: dict[str, object] = found[0].obj()["spec"]["template"]["spec"]
        return spec_

    gpu = pod("nyc-01", "fraud-scoring")
    assert gpu["nodeSelector"] == {"kubernetes.io/arch": "amd64", "apps.openyurt.io/nodepool": "nyc-01-gpu"}
    assert gpu["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"  # type: ignore[index]
    cpu = pod("lis-03", "sensor-anomaly")
    assert cpu["nodeSelector"] == {"kubernetes.io/arch": "arm64"}
    assert "nvidia.com/gpu" not in cpu["containers"][0]["resources"]["limits"]  # type: ignore[index]
    probes = cpu["containers"][0]  # type: ignore[index]
    assert probes["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert probes["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert probes["command"] == ["edgeops", "serve", "--config", "/etc/edgeops/runtime.json"]


def test_content_hash_ignores_revision_and_follows_content(spec: FleetSpec) -> None:
    zone = spec.zone("bos-02")
    assert zone is not None
    a = {m.ref: m.content_hash for m in render_zone(spec, zone, "a" * 40)}
    b = {m.ref: m.content_hash for m in render_zone(spec, zone, "b" * 40)}
    assert a == b
    more = zone.model_copy(
        update={
            "spec": zone.spec.model_copy(update={"models": (zone.spec.models[0].model_copy(update={"replicas": 5}),)})
        }
    )
    c = {m.ref: m.content_hash for m in render_zone(spec, more, "a" * 40)}
    changed = {ref.kind for ref in a if a[ref] != c[ref]}
    # bos-02 is partitioned: runtime.json carries the replicas, as each pod's partitions follow from them
    assert changed == {"StatefulSet", "ConfigMap"}


def _with_placeholder(spec: FleetSpec, model: str, version: str) -> FleetSpec:
    """The spec with one version's artifact marked as not built yet (the template's are all built)."""
    source = spec.models[model]
    versions = tuple(
        v.model_copy(update={"artifact": v.artifact.model_copy(update={"placeholder": True})})
        if v.version == version
        else v
        for v in source.spec.versions
    )
    changed = source.model_copy(update={"spec": source.spec.model_copy(update={"versions": versions})})
    return replace(spec, models={**spec.models, model: changed})


def test_placeholder_artifacts_are_noted_and_unknown_zone_refused(spec: FleetSpec) -> None:
    rendered = render_region(spec, "eu-west", REV)
    assert [r.zone for r in rendered] == ["ams-01", "fra-02", "lis-03"]
    assert not any("placeholder" in note for r in rendered for note in r.notes)  # every template version is built
    rendered = render_region(_with_placeholder(spec, "fraud-scoring", "1.1.0"), "eu-west", REV)
    assert any("fraud-scoring 1.1.0 (canary): artifact is a placeholder" in note for note in rendered[0].notes)
    with pytest.raises(RenderError, match="not in region"):
        render_region(spec, "eu-west", REV, zone="nyc-01")


def test_namespace_option_moves_every_namespaced_object(spec: FleetSpec) -> None:
    zone = spec.zone("lis-03")
    assert zone is not None
    rendered = render_zone(spec, zone, REV, RenderOptions(namespace="elsewhere"))
    assert {m.ref.namespace for m in rendered if m.ref.kind not in ("Namespace", "NodePool")} == {"elsewhere"}
    config = json.loads(next(m for m in rendered if m.ref.kind == "ConfigMap").obj()["data"]["runtime.json"])
    assert config["nats"]["url"] == "nats://nats.elsewhere.svc:4222"


# ------------------------------------------------------------------------------------------- properties

_canaries = st.one_of(
    st.none(),
    st.builds(lambda w: ("live", w), st.integers(1, 99)),
    st.just(("shadow", 0)),
)


@settings(max_examples=40, deadline=None)
@given(
    replicas=st.integers(0, 20),
    canary=_canaries,
    pools=st.lists(st.sampled_from(["p-a", "p-b", "p-c"]), unique=True, max_size=3),
    arch=st.sampled_from(["amd64", "arm64"]),
    gpu=st.integers(0, 2),
)
def test_generated_zones_render_deterministically_with_labels_everywhere(
    spec: FleetSpec, *, replicas: int, canary: tuple[str, int] | None, pools: list[str], arch: str, gpu: int
) -> None:
    base = spec.zone("ams-01")
    assert base is not None
    assignment = base.spec.models[0].model_copy(
        update={
            "replicas": replicas,
            "partitions": 24 if replicas > 1 else None,  # replicas above 1 scale out by key
            "node_pool": pools[0] if pools else None,
            "resources": base.spec.models[0].resources.model_copy(update={"gpu": gpu}),
            "canary": None
            if canary is None
            else Canary(version="1.1.0", weight=canary[1], phase=canary[0], started_at="2026-11-27T09:00:00Z"),  # type: ignore[arg-type]
        }
    )
    zone = base.model_copy(
        update={
            "spec": base.spec.model_copy(
                update={
                    "models": (assignment,),
                    "node_pools": tuple(NodePool(name=p) for p in pools),
                    "hardware": base.spec.hardware.model_copy(update={"arch": arch}),
                }
            )
        }
    )
    first, second = render_zone(spec, zone, REV), render_zone(spec, zone, REV)
    assert [m.to_yaml() for m in first] == [m.to_yaml() for m in second]
    deployments = [m for m in first if m.ref.kind == ("StatefulSet" if replicas > 1 else "Deployment")]
    assert len(deployments) == (1 if canary is None else 2)
    assert len([m for m in first if m.ref.kind in WORKLOADS]) == len(deployments)
    assert len([m for m in first if m.ref.kind == "NodePool"]) == len(pools)
    for manifest in first:
        labels = manifest.obj()["metadata"]["labels"]
        assert labels[MANAGED_BY] == "edgeops"
        assert labels[ZONE] == "ams-01"
    stable = next(m for m in deployments if m.ref.name == "fraud-scoring").obj()
    assert stable["spec"]["replicas"] == replicas
    assert stable["spec"]["template"]["spec"]["nodeSelector"]["kubernetes.io/arch"] == arch


def test_libyaml_and_pure_python_emitters_agree(spec: FleetSpec) -> None:
    """The fast emitter is used when PyYAML has libyaml; machines without it must print the same bytes."""
    import yaml

    from reconciler.core.render import manifest

    class Pure(yaml.SafeDumper):
        pass

    Pure.add_representer(str, manifest._str_representer)
    for zone in spec.zones:
        for item in render_zone(spec, zone, REV):
            pure = yaml.dump(
                item.obj(), Dumper=Pure, sort_keys=True, default_flow_style=False, allow_unicode=True, width=4096
            )
            assert item.to_yaml() == pure
