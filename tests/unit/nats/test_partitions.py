"""A partitioned model assignment (`partitions: P`) rendered three ways that must agree: the zone server's mapping, the
JetStream consumers and the runtime config, plus the workload that runs it.

Matrix, over generated P (1..1024), replicas (0..P) and canary state (none, live at weight 1..100, shadow with the
policy's mirror percent): the mapping reads `<input>.*` and its weights sum to 100, every destination being a route
followed by the key's partition and the key; each active track has P consumers `<model>-<track>-p<p>` whose filters
are disjoint and together take exactly the routes the track reads, in every partition; the runtime config's
partitions (count, the track's replicas) hand each durable to exactly one replica; the workload is a StatefulSet
(parallel pods, ordinal from the pod name) for a partitioned track and a Deployment otherwise. The template's
partitioned zones are checked the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.app.desired import load_desired
from reconciler.core.nats import active_tracks, naming, route_weights, server_config, zone_assets
from reconciler.core.nats.naming import Route
from reconciler.core.render import render_zone, runtime_config
from reconciler.core.spec import FleetSpec, ModelAssignment, Zone
from runtime import Track

pytestmark = pytest.mark.unit

SPEC = load_desired(Path(__file__).resolve().parents[3]).spec
assert SPEC is not None
INPUT = "payments.ams-01.tx"
# The routes each track's runtime reads: stable everything routed to stable, the shadow only the mirrored copies.
READS = {
    Track.STABLE: {Route.STABLE_DIRECT, Route.STABLE_MIRRORED},
    Track.CANARY: {Route.CANARY_LIVE},
    Track.SHADOW: {Route.STABLE_MIRRORED},
}


def template_zone(name: str) -> Zone:
    assert SPEC is not None
    zone = SPEC.zone(name)
    assert zone is not None
    return zone


def scaled(replicas: int, partitions: int | None, canary: dict[str, Any] | None) -> Zone:
    """ams-01 with its one model at `replicas` over `partitions`, and the canary edited (None: no canary)."""
    base = template_zone("ams-01")
    assignment = base.spec.models[0]
    assert assignment.canary is not None
    edited = assignment.model_copy(
        update={
            "replicas": replicas,
            "partitions": partitions,
            "canary": None if canary is None else assignment.canary.model_copy(update=canary),
        }
    )
    return base.model_copy(update={"spec": base.spec.model_copy(update={"models": (edited,)})})


def matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: `*` is one token, `>` one or more at the end."""
    want, have = pattern.split("."), subject.split(".")
    for i, token in enumerate(want):
        if token == ">":
            return len(have) > i
        if i >= len(have) or (token != "*" and token != have[i]):
            return False
    return len(want) == len(have)


canaries = st.one_of(
    st.none(),
    st.integers(1, 100).map(lambda w: {"phase": "live", "weight": w}),
    st.just({"phase": "shadow", "weight": 0}),
)


@st.composite
def partitioned_zones(draw: st.DrawFn) -> Zone:
    partitions = draw(st.integers(1, 64) | st.sampled_from([128, 1024]))
    return scaled(draw(st.integers(0, min(partitions, 100))), partitions, draw(canaries))


def check_agreement(spec: FleetSpec, zone: Zone, assignment: ModelAssignment) -> None:
    count = assignment.partitions
    assert count is not None
    source = naming.keyed_input(assignment.input)

    # The mapping: sensors' `<input>.<key>` to weighted routes, each with the partition before the key.
    mapping = server_config(spec, zone)["accounts"]["EDGE"]["mappings"][source]  # type: ignore[index]
    assert assignment.input not in server_config(spec, zone)["accounts"]["EDGE"]["mappings"]  # type: ignore[index,operator]
    assert sum(int(d["weight"].rstrip("%")) for d in mapping) == 100
    routes = {route for route, _ in route_weights(spec, assignment)}
    assert {d["destination"] for d in mapping} == {
        f"{assignment.input}.{route.value}.{{{{partition({count},1)}}}}.{{{{wildcard(1)}}}}" for route in routes
    }

    # The consumers: per active track, P of them, one per partition, reading exactly the routes the track reads.
    consumers = [c for c in zone_assets(zone).consumers if c.stream == naming.input_stream(zone.name, assignment.model)]
    for track in active_tracks(assignment):
        mine = [c for c in consumers if c.durable.startswith(f"{assignment.model}-{track.value}-p")]
        assert [c.durable for c in mine] == [naming.partition_durable(assignment.model, track, p) for p in range(count)]
        checked = range(count) if count <= 64 else (0, 1, count // 2, count - 1)  # matching all is quadratic
        for p in checked:
            for route in Route:
                subject = f"{assignment.input}.{route.value}.{p}.card-1"
                takers = [c.durable for c in mine if matches(c.filter_subject, subject)]
                expected = [naming.partition_durable(assignment.model, track, p)] if route in READS[track] else []
                assert takers == expected, (track, p, route, takers)
        # The runtime's union filter covers them all, and each replica binds a disjoint share of the durables.
        config = runtime_config(
            spec, zone, assignment, spec.models[assignment.model], track=_track(track), namespace="e"
        )
        deployment = config.models[0]
        parts = deployment.partitions
        assert parts is not None
        assert parts.count == count
        assert all(
            matches(deployment.subjects.input, f"{assignment.input}.{r.value}.{count - 1}.k") for r in READS[track]
        )
        bound = [f"{deployment.subjects.durable}-p{p}" for o in range(parts.replicas) for p in parts.owned(o)]
        assert sorted(bound) == sorted(c.durable for c in mine)
    assert len(consumers) == count * len(active_tracks(assignment))


def _track(track: Track) -> str:
    return "stable" if track is Track.STABLE else "canary"


@settings(max_examples=60, deadline=None)
@given(partitioned_zones())
def test_mapping_consumers_and_runtime_config_agree(zone: Zone) -> None:
    assert SPEC is not None
    check_agreement(SPEC, zone, zone.spec.models[0])


@pytest.mark.parametrize("name", ["ams-01", "bos-02", "nyc-01"])
def test_template_partitioned_zones_agree(name: str) -> None:
    assert SPEC is not None
    zone = template_zone(name)
    partitioned = [a for a in zone.spec.models if a.partitioned]
    assert partitioned, f"{name} has replicas above 1, so partitions"
    for assignment in partitioned:
        check_agreement(SPEC, zone, assignment)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 12), st.one_of(st.none(), st.integers(1, 12)), canaries)
def test_partitioned_tracks_run_as_statefulsets(
    replicas: int, partitions: int | None, canary: dict[str, Any] | None
) -> None:
    assert SPEC is not None
    if partitions is not None:
        replicas = min(replicas, partitions)
    elif replicas > 1:
        replicas = 1
    zone = scaled(replicas, partitions, canary)
    rendered = render_zone(SPEC, zone, "r1")
    workloads = {m.ref.name: m.obj() for m in rendered if m.ref.kind in ("Deployment", "StatefulSet")}
    assert set(workloads) == {"fraud-scoring"} | ({"fraud-scoring-canary"} if canary is not None else set())
    for name, obj in workloads.items():
        pod = obj["spec"]["template"]["spec"]
        env = {e["name"]: e for e in pod["containers"][0]["env"]}
        want = replicas if name == "fraud-scoring" else min(replicas, 1)
        assert obj["spec"]["replicas"] == want
        config = rendered_config(rendered, name)
        if partitions is None:
            assert obj["kind"] == "Deployment"
            assert "EDGEOPS_ORDINAL" not in env
            assert '"partitions": null' in config
            continue
        assert obj["kind"] == "StatefulSet"
        assert obj["spec"]["podManagementPolicy"] == "Parallel"
        assert "strategy" not in obj["spec"]
        assert env["EDGEOPS_ORDINAL"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
        assert f'"count": {partitions}' in config
        assert f'"replicas": {max(want, 1)}' in config


def rendered_config(rendered: Any, workload: str) -> str:
    (cm,) = [m.obj() for m in rendered if m.ref.kind == "ConfigMap" and m.ref.name == f"{workload}-runtime"]
    text: str = cm["data"]["runtime.json"]
    return text


def test_sensors_may_publish_only_keyed_subjects() -> None:
    assert SPEC is not None
    users = server_config(SPEC, template_zone("ams-01"))["accounts"]["EDGE"]["users"]  # type: ignore[index]
    sensor = next(u for u in users if u["user"] == naming.SENSOR_USER)  # type: ignore[union-attr]
    assert sensor["permissions"]["publish"]["allow"] == sorted(  # type: ignore[index]
        [f"{INPUT}.*", *(f"{INPUT}.{route.value}.*.*" for route in Route)]
    )
    assert naming.sensor_subject(INPUT, "card-7", partitioned=True) == f"{INPUT}.card-7"
    assert naming.sensor_subject(INPUT, "card-7", partitioned=False) == INPUT
