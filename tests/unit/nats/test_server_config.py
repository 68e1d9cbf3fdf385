"""Pure NATS server config rendering from the template fleet. Matrix: determinism (dict, config file, Helm values)
| weighted mappings (no canary, live weights 1..99 and 100, shadow with mirror percent 0..100, policy without a
shadow phase): integer weights summing to exactly 100 | permissions of sensors, runtime and reconciler |
leafnode remote (region hub, zone override, credentials from file / secret / env) | config file syntax
(variables bare, subjects quoted, bad values named by path) | runtime config names agree with the assets."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.app.desired import load_desired
from reconciler.core.nats import (
    ConfRenderError,
    NatsRenderError,
    active_tracks,
    helm_values,
    naming,
    render_conf,
    route_weights,
    server_config,
)
from reconciler.core.nats.assets import zone_assets
from reconciler.core.nats.naming import Route
from reconciler.core.render import runtimecfg
from reconciler.core.spec import FleetSpec, SecretRef, Zone
from runtime.config import Track

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[3]
SPEC = load_desired(REPO).spec
assert SPEC is not None


def zone(name: str) -> Zone:
    found = SPEC.zone(name) if SPEC is not None else None
    assert found is not None
    return found


def unpartitioned(base: Zone) -> Zone:
    """The zone with every model on one replica and no partitions (the template's ams-01 is partitioned:
    tests/unit/nats/test_partitions.py)."""
    models = tuple(a.model_copy(update={"replicas": 1, "partitions": None}) for a in base.spec.models)
    return base.model_copy(update={"spec": base.spec.model_copy(update={"models": models})})


def with_canary(base: Zone, **canary: object) -> Zone:
    assignment = base.spec.models[0]
    assert assignment.canary is not None
    models = (assignment.model_copy(update={"canary": assignment.canary.model_copy(update=canary)}),)
    return base.model_copy(update={"spec": base.spec.model_copy(update={"models": models})})


def without_canary(base: Zone) -> Zone:
    models = tuple(a.model_copy(update={"canary": None}) for a in base.spec.models)
    return base.model_copy(update={"spec": base.spec.model_copy(update={"models": models})})


def spec_with_mirror(percent: float | None) -> FleetSpec:
    assert SPEC is not None
    policy = SPEC.policies["standard"]
    shadow = None if percent is None else policy.spec.shadow.model_copy(update={"mirror_percent": percent})  # type: ignore[union-attr]
    edited = policy.model_copy(update={"spec": policy.spec.model_copy(update={"shadow": shadow})})
    return FleetSpec(SPEC.fleet, {**SPEC.policies, "standard": edited}, SPEC.zones, SPEC.models)


def test_rendering_is_deterministic() -> None:
    assert SPEC is not None
    for z in SPEC.zones:
        assert server_config(SPEC, z) == server_config(SPEC, z)
        assert render_conf(server_config(SPEC, z)) == render_conf(server_config(SPEC, z))
        assert helm_values(SPEC, z) == helm_values(SPEC, z)
        assert zone_assets(z) == zone_assets(z)


def test_live_canary_mapping_splits_input_by_weight() -> None:
    assert SPEC is not None
    config = server_config(SPEC, unpartitioned(zone("ams-01")))
    mappings = config["accounts"]["EDGE"]["mappings"]  # type: ignore[index]
    assert mappings == {
        "payments.ams-01.tx": [
            {"destination": "payments.ams-01.tx.stable.direct", "weight": "90%"},
            {"destination": "payments.ams-01.tx.canary.live", "weight": "10%"},
        ]
    }


def test_without_canary_everything_goes_to_stable() -> None:
    assert SPEC is not None
    plain = without_canary(unpartitioned(zone("ams-01")))
    assert route_weights(SPEC, plain.spec.models[0]) == ((Route.STABLE_DIRECT, 100),)
    assert active_tracks(plain.spec.models[0]) == (Track.STABLE,)
    assert [c.durable for c in zone_assets(plain).consumers] == ["fraud-scoring-stable"]


@given(st.integers(min_value=1, max_value=100))
def test_live_weights_sum_to_100(weight: int) -> None:
    assert SPEC is not None
    weights = route_weights(SPEC, with_canary(zone("ams-01"), weight=weight).spec.models[0])
    assert sum(w for _, w in weights) == 100
    assert all(w > 0 for _, w in weights)
    assert dict(weights).get(Route.CANARY_LIVE) == weight


@given(st.floats(min_value=0, max_value=100))
def test_shadow_mirror_weights_sum_to_100(percent: float) -> None:
    shadow = with_canary(zone("ams-01"), phase="shadow", weight=0)
    weights = route_weights(spec_with_mirror(percent), shadow.spec.models[0])
    assert sum(w for _, w in weights) == 100
    assert Route.CANARY_LIVE not in dict(weights)  # the shadow phase sends no live traffic to the canary
    assert dict(weights).get(Route.STABLE_MIRRORED, 0) == round(percent)


def test_shadow_phase_mirrors_to_the_shadow_consumer() -> None:
    shadow = with_canary(unpartitioned(zone("ams-01")), phase="shadow", weight=0)
    assert route_weights(spec_with_mirror(None), shadow.spec.models[0]) == ((Route.STABLE_MIRRORED, 100),)
    consumers = {c.durable: c.filter_subject for c in zone_assets(shadow).consumers}
    assert consumers == {
        "fraud-scoring-stable": "payments.ams-01.tx.stable.>",
        "fraud-scoring-shadow": "payments.ams-01.tx.stable.mirrored",
    }


def test_permissions() -> None:
    assert SPEC is not None
    config = server_config(SPEC, unpartitioned(zone("ams-01")))
    users = {u["user"]: u for u in config["accounts"]["EDGE"]["users"]}  # type: ignore[index]
    sensor = users["sensor"]["permissions"]
    assert sensor["publish"]["allow"] == sorted(
        ["payments.ams-01.tx", *(f"payments.ams-01.tx.{r.value}" for r in Route)]
    )
    assert sensor["subscribe"]["allow"] == ["_INBOX.>"]
    runtime = users["runtime"]["permissions"]["publish"]["allow"]
    assert "$JS.API.CONSUMER.MSG.NEXT.input-ams-01-fraud-scoring.*" in runtime
    assert "scores.ams-01.fraud" in runtime
    assert "payments.ams-01.tx" not in runtime  # the runtime never injects sensor input
    assert not any(s.startswith(("$JS.API.STREAM.CREATE", "$JS.API.STREAM.DELETE", ">")) for s in runtime)
    assert "permissions" not in users["reconciler"]
    assert all(str(u["password"]).startswith("<< $EDGEOPS_NATS_") for u in users.values())


def test_zone_without_models_lets_sensors_publish_nothing() -> None:
    assert SPEC is not None
    empty = zone("ams-01").model_copy(update={"spec": zone("ams-01").spec.model_copy(update={"models": ()})})
    users = {u["user"]: u for u in server_config(SPEC, empty)["accounts"]["EDGE"]["users"]}  # type: ignore[index]
    assert users["sensor"]["permissions"]["publish"]["allow"] == ["_edgeops.none"]
    assert [s.name for s in zone_assets(empty).streams] == ["dead-letter-ams-01"]


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        (None, None),
        (SecretRef(file="/etc/nats/leaf.creds"), "/etc/nats/leaf.creds"),
        (SecretRef(secret="leaf-creds/ams.creds"), "/etc/nats-leafnode/ams.creds"),
        (SecretRef(env="LEAF_CREDS"), "<< $LEAF_CREDS >>"),
    ],
)
def test_leafnode_remote(ref: SecretRef | None, expected: str | None) -> None:
    assert SPEC is not None
    base = zone("ams-01")
    nats = base.spec.nats.model_copy(
        update={"leafnode": base.spec.nats.leafnode.model_copy(update={"credentials": ref})}
    )
    z = base.model_copy(update={"spec": base.spec.model_copy(update={"nats": nats})})
    (remote,) = server_config(SPEC, z)["leafnodes"]["remotes"]  # type: ignore[index]
    assert remote["urls"] == ["nats-leaf://hub.eu-west.acme.example:7422"]
    assert remote["account"] == "EDGE"
    assert remote.get("credentials") == expected
    values = helm_values(SPEC, z)
    assert values["config"]["jetstream"]["merge"] == {"domain": "ams-01"}  # type: ignore[index]
    assert ("podTemplate" in values) == (ref is not None and ref.secret is not None)


def test_zone_hub_override_and_unknown_region() -> None:
    assert SPEC is not None
    base = zone("fra-02")
    leaf = base.spec.nats.leafnode.model_copy(update={"hub": "nats-leaf://other:7422"})
    z = base.model_copy(
        update={"spec": base.spec.model_copy(update={"nats": base.spec.nats.model_copy(update={"leafnode": leaf})})}
    )
    assert server_config(SPEC, z)["leafnodes"]["remotes"][0]["urls"] == ["nats-leaf://other:7422"]  # type: ignore[index]
    lost = base.model_copy(update={"spec": base.spec.model_copy(update={"region": "mars"})})
    with pytest.raises(NatsRenderError, match="fra-02: region 'mars' is not defined"):
        server_config(SPEC, lost)


def test_conf_syntax() -> None:
    text = render_conf({"a": 1, "b": True, "pw": "<< $PW >>", "m": {"x.y": [{"weight": "10%"}]}, "e": [], "s": 'q"'})
    assert "pw: $PW\n" in text
    assert '"x.y": [' in text
    assert 'weight: "10%"' in text
    assert "e: []" in text
    assert 's: "q\\""' in text
    with pytest.raises(ConfRenderError, match=r"m\.x: cannot render a float"):
        render_conf({"m": {"x": 1.5}})


def test_runtime_config_consumes_what_the_assets_provide() -> None:
    """The runtime config the reconciler renders names the streams, durables and filters the assets create."""
    assert SPEC is not None
    for z in SPEC.zones:
        assets = zone_assets(z)
        consumers = {(c.stream, c.durable): c.filter_subject for c in assets.consumers}
        stream_subjects = {s.name: s.subjects for s in assets.streams}
        for assignment in z.spec.models:
            model = SPEC.models[assignment.model]
            tracks = ["stable"] + (["canary"] if assignment.canary is not None else [])
            for track in tracks:
                config = runtimecfg.runtime_config(SPEC, z, assignment, model, track=track, namespace="edge")
                subjects, parts = config.models[0].subjects, config.models[0].partitions
                if parts is None:
                    assert consumers[(subjects.stream, subjects.durable)] == subjects.input
                else:  # a consumer per partition, under the durable's name (tests/unit/nats/test_partitions.py)
                    for p in range(parts.count):
                        assert (subjects.stream, f"{subjects.durable}-p{p}") in consumers
                results = stream_subjects[naming.result_stream(z.name)]
                assert subjects.result in results or any(
                    s.endswith(".>") and subjects.result.startswith(s[:-1]) for s in results
                )
                assert subjects.dead_letter.startswith(naming.dead_letter_stream_subject(z.name)[:-1])


@pytest.mark.parametrize(
    ("input_subject", "output_subject", "message"),
    [
        (
            "payments.ams-01.tx",
            "payments.ams-01.tx.scores",
            "input 'payments.ams-01.tx' and model fraud-scoring output",
        ),
        ("scores.ams-01", "scores.ams-01.fraud.x", "overlap"),
        (
            "edgeops.dlq.ams-01.x",
            "scores.ams-01.fraud",
            "model fraud-scoring input 'edgeops.dlq.ams-01.x' and dead letters",
        ),
    ],
)
def test_overlapping_subjects_are_refused(input_subject: str, output_subject: str, message: str) -> None:
    assert SPEC is not None
    base = zone("ams-01")
    assignment = base.spec.models[0].model_copy(update={"input": input_subject, "output": output_subject})
    bad = base.model_copy(update={"spec": base.spec.model_copy(update={"models": (assignment,)})})
    with pytest.raises(NatsRenderError, match=message):
        server_config(SPEC, bad)
    with pytest.raises(NatsRenderError, match="zone ams-01: "):
        zone_assets(bad)
