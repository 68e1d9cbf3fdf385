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
