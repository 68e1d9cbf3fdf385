"""The reconciler's own RBAC as rendered: no Secrets, no wildcards, nothing cluster-wide but its own namespace (by
name) and NodePools; the Lease's rules only where asked; subjects parsed strictly. (That it is enough, and that a
write beyond it is refused, is tested against a real API server in tests/integration/reconcile.)"""

from __future__ import annotations

import pytest

from reconciler.core.render import parse_subject, reconciler_rbac

pytestmark = pytest.mark.unit

SUBJECT = parse_subject("user:edgeops-reconciler")


def _rules(objects: list[dict[str, object]]) -> list[dict[str, list[str]]]:
    return [rule for obj in objects for rule in obj.get("rules", [])]  # type: ignore[attr-defined]


def test_no_secrets_no_wildcards() -> None:
    rules = _rules(reconciler_rbac("ams-01", "edgeops", SUBJECT, lease=("kube-system", "lease")))
    assert rules
    for rule in rules:
        assert "secrets" not in rule["resources"]
        assert "*" not in rule["resources"] + rule["verbs"] + rule["apiGroups"]
        assert not {"bind", "escalate", "impersonate", "list"} & set(rule["verbs"])


def test_cluster_scope_is_its_namespace_and_node_pools_only() -> None:
    (cluster_role,) = [o for o in reconciler_rbac("ams-01", "edgeops", SUBJECT) if o["kind"] == "ClusterRole"]
    by_resource = {tuple(r["resources"]): r for r in cluster_role["rules"]}
    assert set(by_resource) == {("namespaces",), ("nodepools",)}
    assert by_resource["namespaces",]["resourceNames"] == ["edgeops"]


def test_the_lease_rules_only_where_the_lease_is() -> None:
    assert not any(
        o["kind"] == "Role" and "lease" in o["metadata"]["name"] for o in reconciler_rbac("a", "ns", SUBJECT)
    )
    with_lease = reconciler_rbac("a", "ns", SUBJECT, lease=("kube-system", "edgeops-reconciler-eu-west"))
    (role,) = [o for o in with_lease if o["kind"] == "Role" and o["metadata"]["namespace"] == "kube-system"]
    assert role["rules"][0]["resourceNames"] == ["edgeops-reconciler-eu-west"]


@pytest.mark.parametrize(
    ("text", "kind"),
    [("user:a", "User"), ("group:g", "Group"), ("serviceaccount:ns:sa", "ServiceAccount")],
)
def test_subjects(text: str, kind: str) -> None:
    assert parse_subject(text)["kind"] == kind


@pytest.mark.parametrize("text", ["", "a", "user:", "serviceaccount:ns", "serviceaccount::sa", "robot:x"])
def test_bad_subjects_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="expected user:NAME"):
        parse_subject(text)


def test_every_namespaced_kind_the_template_renders_is_writable() -> None:
    """Derived from what is rendered, so a new kind (a partitioned model's StatefulSet) cannot be forgotten."""
    from pathlib import Path

    from reconciler.app.desired import load_desired
    from reconciler.core.render import render_zone
    from reconciler.shells.kube.resources import KNOWN

    spec = load_desired(Path(__file__).resolve().parents[3]).spec
    assert spec is not None
    rendered = {(m.ref.api_version, m.ref.kind) for zone in spec.zones for m in render_zone(spec, zone, "r")}
    assert ("apps/v1", "StatefulSet") in rendered  # the template's partitioned zones
    assert ("apps/v1", "Deployment") in rendered
    (role,) = [o for o in reconciler_rbac("ams-01", "edgeops", SUBJECT) if o["kind"] == "Role"]
    writable = {(g, r) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"]
                if {"get", "create", "patch", "delete"} <= set(rule["verbs"])}  # fmt: skip
    for api_version, kind in rendered:
        resource = KNOWN[(api_version, kind)]
        if resource.namespaced:
            group = api_version.rpartition("/")[0]
            assert (group, resource.plural) in writable, kind
