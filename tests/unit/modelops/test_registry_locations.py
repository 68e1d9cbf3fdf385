"""Where `edgeops model push` pushes: registry strings (host, port, path, scheme; plain HTTP only for loopback or
an explicit http://), the repository per model, and the region registries read from the template's fleet.yaml
(plus a clear error for a missing or invalid fleet.yaml)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.app.modelops.push import PushConfigError, registries_from_fleet
from reconciler.shells.registry import parse_registry

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    ("text", "host", "path", "plain"),
    [
        ("127.0.0.1:5000", "127.0.0.1:5000", "", True),
        ("localhost:5000/edge-models", "localhost:5000", "edge-models", True),
        ("[::1]:5000/a/b", "[::1]:5000", "a/b", True),
        ("registry.eu-west.acme.example/edge-models", "registry.eu-west.acme.example", "edge-models", False),
        ("http://registry.lan:5000/m", "registry.lan:5000", "m", True),
        ("https://127.0.0.1:5443", "127.0.0.1:5443", "", False),
    ],
)
def test_parse_registry(text: str, host: str, path: str, plain: bool) -> None:
    location = parse_registry(text)
    assert (location.host, location.path, location.plain_http) == (host, path, plain)


def test_plain_http_override_and_repository() -> None:
    assert parse_registry("registry.lan/x", plain_http=True).plain_http is True
    assert parse_registry("127.0.0.1:5000", plain_http=False).plain_http is False
    assert parse_registry("reg.example/Edge-Models").repository("fraud-scoring") == "edge-models/fraud-scoring"
    assert parse_registry("reg.example").repository("fraud-scoring") == "edgeops/models/fraud-scoring"
    with pytest.raises(ValueError, match="not host"):
        parse_registry("/just/a/path")


def test_template_fleet_names_one_registry_per_region() -> None:
    locations = registries_from_fleet(REPO / "fleet" / "fleet.yaml")
    assert [loc.host for loc in locations] == ["registry.eu-west.acme.example", "registry.us-east.acme.example"]
    assert {loc.path for loc in locations} == {"edge-models"}
    assert not any(loc.plain_http for loc in locations)


def test_missing_or_invalid_fleet_is_named(tmp_path: Path) -> None:
    with pytest.raises(PushConfigError, match=r"fleet\.yaml: cannot read"):
        registries_from_fleet(tmp_path / "fleet.yaml")
    bad = tmp_path / "fleet.yaml"
    bad.write_text("apiVersion: edgeops.io/v1alpha1\nkind: Fleet\nmetadata: {name: x}\nspec: {}\n")
    with pytest.raises(PushConfigError, match=r"fleet\.yaml: not a valid Fleet"):
        registries_from_fleet(bad)
