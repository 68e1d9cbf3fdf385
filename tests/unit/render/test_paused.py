"""paused_view: what a paused zone keeps — its basis, changed only by the branch's rollbacks — and the PR preview
of a paused zone.

Matrix: a rollback at head (canary removed, same stable) leaves the zone; a promotion, a weight step, a new canary
of another version (the old one is rolled back), a removed model, a replicas or resources edit never reach it; the
zone missing at its basis gives no view; other zones are untouched. Property: for generated edits at head, the view
renders a subset of the basis' objects, each byte-identical to the basis except the ones a removed canary is listed
in (Role, NATS HelmChart), and the canary Deployment is gone exactly when the branch rolled the canary back.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.app.desired import load_desired
from reconciler.core.bot import preview_region
from reconciler.core.plan import Action
from reconciler.core.render import paused_view, render_zone
from reconciler.core.spec import FleetSpec, ModelAssignment, Zone
from reconciler.core.spec.zone import Canary

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[3]
ZONE = "ams-01"
MODEL = "fraud-scoring"
REV = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(scope="module")
def basis() -> FleetSpec:
    loaded = load_desired(REPO)
    assert loaded.spec is not None, loaded.errors
    zone = loaded.spec.zone(ZONE)
    assert zone is not None
    assignment = zone.assignment(MODEL)
    assert assignment is not None
    assert assignment.canary is not None, "the template's live canary"
    return loaded.spec


def _edit_zone(spec: FleetSpec, name: str, **changes: object) -> FleetSpec:
    zones = tuple(
        z.model_copy(update={"spec": z.spec.model_copy(update=changes)}) if z.name == name else z for z in spec.zones
    )
    return FleetSpec(fleet=spec.fleet, policies=spec.policies, zones=zones, models=spec.models)


def _zone(spec: FleetSpec, name: str = ZONE) -> Zone:
    zone = spec.zone(name)
    assert zone is not None
    return zone


def _edit_model(spec: FleetSpec, **changes: object) -> FleetSpec:
    zone = _zone(spec)
    models = tuple(a.model_copy(update=changes) if a.model == MODEL else a for a in zone.spec.models)
    return _edit_zone(spec, ZONE, models=models, paused=True)


def _canary(spec: FleetSpec) -> Canary | None:
    assignment = _zone(spec).assignment(MODEL)
    assert assignment is not None
    return assignment.canary


def _assignment(spec: FleetSpec) -> ModelAssignment:
    found = _zone(spec).assignment(MODEL)
    assert found is not None
    return found


def test_a_rollback_at_head_leaves_the_paused_zone(basis: FleetSpec) -> None:
    head = _edit_model(basis, canary=None)
    view = paused_view(basis, head, ZONE)
    assert view is not None
    assert view.rolled_back == (f"{MODEL} 1.1.0",)
    assert _canary(view.spec) is None
    assert view.zone == _zone(view.spec)
    names = {m.ref.name for m in render_zone(view.spec, view.zone, REV) if m.ref.kind == "Deployment"}
    assert not any("canary" in n for n in names), names
    # The zone keeps its basis otherwise: not paused there, and nothing else of the fleet changes.
    assert view.spec.models is basis.models
    assert view.spec.policies is basis.policies
    assert [z for z in view.spec.zones if z.name != ZONE] == [z for z in basis.zones if z.name != ZONE]


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"version": "1.1.0", "canary": None}, id="promotion"),
        pytest.param({"replicas": 7}, id="replicas"),
        pytest.param({"resources": {"cpu": "2", "memory": "2Gi"}}, id="resources"),
    ],
)
def test_no_other_change_at_head_reaches_the_paused_zone(basis: FleetSpec, change: dict[str, object]) -> None:
    current = _assignment(basis)
    update = {k: (current.resources.model_validate(v) if k == "resources" else v) for k, v in change.items()}
    head = _edit_model(basis, **update)
    view = paused_view(basis, head, ZONE)
    assert view is not None
    assert view.rolled_back == ()
    assert view.spec is basis
    assert view.zone == _zone(basis)


def test_a_weight_step_is_not_a_rollback(basis: FleetSpec) -> None:
    canary = _canary(basis)
    assert canary is not None
    head = _edit_model(basis, canary=canary.model_copy(update={"weight": 50}))
    view = paused_view(basis, head, ZONE)
    assert view is not None
    assert view.rolled_back == ()
    assert _canary(view.spec) == canary


def test_a_new_canary_version_rolls_the_old_one_back_and_starts_nothing(basis: FleetSpec) -> None:
    canary = _canary(basis)
    assert canary is not None
    head = _edit_model(basis, canary=canary.model_copy(update={"version": "1.2.0"}))
    view = paused_view(basis, head, ZONE)
    assert view is not None
    assert view.rolled_back == (f"{MODEL} 1.1.0",)
    assert _canary(view.spec) is None


def test_a_model_removed_at_head_stays(basis: FleetSpec) -> None:
    zone = _zone(basis)
    head = _edit_zone(basis, ZONE, models=tuple(a for a in zone.spec.models if a.model != MODEL), paused=True)
    view = paused_view(basis, head, ZONE)
    assert view is not None
    assert view.rolled_back == ()
    assert _canary(view.spec) is not None


def test_a_zone_missing_at_its_basis_has_no_view(basis: FleetSpec) -> None:
    head = _edit_model(basis, canary=None)
    without = FleetSpec(basis.fleet, basis.policies, tuple(z for z in basis.zones if z.name != ZONE), basis.models)
    assert paused_view(without, head, ZONE) is None


# A kind of edit a person (or the controller) may make at head while the zone is paused.
EDITS = st.sampled_from(["rollback", "promote", "step", "replace", "replicas", "remove", "none"])


def _head(basis: FleetSpec, edit: str, replicas: int, weight: int) -> FleetSpec:
    canary = _canary(basis)
    assert canary is not None
    if edit == "rollback":
        return _edit_model(basis, canary=None, replicas=replicas)
    if edit == "promote":
        return _edit_model(basis, version=canary.version, canary=None)
    if edit == "step":
        return _edit_model(basis, canary=canary.model_copy(update={"weight": weight}))
    if edit == "replace":
        return _edit_model(basis, canary=canary.model_copy(update={"version": "9.9.9"}), replicas=replicas)
    if edit == "replicas":
        return _edit_model(basis, replicas=replicas)
    if edit == "remove":
        zone = _zone(basis)
        return _edit_zone(basis, ZONE, models=tuple(a for a in zone.spec.models if a.model != MODEL), paused=True)
    return _edit_zone(basis, ZONE, paused=True)


@settings(max_examples=60, deadline=None)
@given(edit=EDITS, replicas=st.integers(0, 100), weight=st.integers(0, 100))
def test_a_paused_zone_only_ever_loses_a_rolled_back_canary(edit: str, replicas: int, weight: int) -> None:
    loaded = load_desired(REPO)
    assert loaded.spec is not None
    basis = loaded.spec
    view = paused_view(basis, _head(basis, edit, replicas, weight), ZONE)
    assert view is not None
    before = {m.ref: m for m in render_zone(basis, _zone(basis), REV)}
    after = {m.ref: m for m in render_zone(view.spec, view.zone, REV)}
    assert set(after) <= set(before)
    listing_the_canary = {"Role", "HelmChart"}
    for ref, manifest in after.items():
        if ref.kind not in listing_the_canary:
            assert manifest.to_yaml() == before[ref].to_yaml(), ref
    gone = {ref.name for ref in set(before) - set(after)}
    rolled_back = edit in ("rollback", "replace")
    assert bool(gone) is rolled_back
    assert all("canary" in name for name in gone), gone


def test_the_pr_preview_of_a_paused_zone_shows_only_its_rollback(basis: FleetSpec) -> None:
    # Pausing alone changes nothing there (it used to look like pruning the whole zone).
    (paused,) = [p for p in preview_region(basis, _edit_zone(basis, ZONE, paused=True), "eu-west") if p.zone == ZONE]
    assert not paused.pending, [c.name for c in paused.kubernetes if c.action.writes]
    # A rollback in a paused zone prunes its canary; the stable replicas edit beside it does not show.
    head = _edit_model(basis, canary=None, replicas=9)
    (plan,) = [p for p in preview_region(basis, head, "eu-west") if p.zone == ZONE]
    pruned = {c.name for c in plan.kubernetes.with_action(Action.PRUNE)}
    assert pruned
    assert all("canary" in name for name in pruned), pruned
    changed = {c.name for c in plan.kubernetes.with_action(Action.CONFIGURE, Action.CREATE)}
    assert MODEL not in changed, changed
