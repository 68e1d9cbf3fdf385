"""fleet.yaml `modelSigningKeys` and the key files under fleet/keys/: a valid key reaches the region's runtime.json
(canonical PEM, working tree and commit alike); a missing file, a file that is not an ECDSA P-256 public key, and
private key material are positioned errors and nothing loads; a region without keys renders none."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from reconciler.app.desired import load_desired
from reconciler.core.render import render_zone
from runtime import cosign
from runtime.config import RuntimeConfig
from tests.fixtures.template_repo import commit_all

pytestmark = pytest.mark.unit

KEY = ec.generate_private_key(ec.SECP256R1())
PUBLIC_PEM = cosign.public_key_pem(KEY.public_key())
REV = "0" * 40


def _declare(root: Path, *paths: str) -> None:
    fleet = root / "fleet/fleet.yaml"
    listed = "".join(f"\n        - {p}" for p in paths)
    text = fleet.read_text(encoding="utf-8")
    anchor = "    - name: eu-west\n"
    fleet.write_text(text.replace(anchor, f"{anchor}      modelSigningKeys:{listed}\n", 1), encoding="utf-8")


def _declared_line(root: Path) -> int:
    """The line of the first key `_declare` listed (the list item that names it)."""
    lines = (root / "fleet/fleet.yaml").read_text(encoding="utf-8").splitlines()
    return lines.index("      modelSigningKeys:") + 2


def _write_key(root: Path, name: str, data: bytes | str) -> None:
    (root / "fleet/keys").mkdir(exist_ok=True)
    path = root / "fleet/keys" / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)


def _runtime_configs(root: Path, rev: str | None = None) -> dict[str, RuntimeConfig]:
    result = load_desired(root, rev)
    assert result.ok, [str(p) for p in result.errors]
    assert result.spec is not None
    configs: dict[str, RuntimeConfig] = {}
    for zone in result.spec.zones:
        for manifest in render_zone(result.spec, zone, REV):
            if manifest.ref.kind == "ConfigMap" and "runtime.json" in manifest.obj().get("data", {}):
                configs[f"{zone.name}/{manifest.ref.name}"] = RuntimeConfig.model_validate_json(
                    manifest.obj()["data"]["runtime.json"]
                )
    return configs


def test_declared_keys_reach_the_regions_runtime_config(template_fleet: Path) -> None:
    # A PEM with text around it and CRLF line ends is rendered canonically.
    _write_key(template_fleet, "release.pub", "release key\r\n" + PUBLIC_PEM.replace("\n", "\r\n"))
    _declare(template_fleet, "fleet/keys/release.pub")
    configs = _runtime_configs(template_fleet)
    eu = [c for c in configs.values() if c.region == "eu-west"]
    us = [c for c in configs.values() if c.region == "us-east"]
    assert eu
    assert us
    assert all([(k.name, k.pem) for k in c.model_signing_keys] == [("fleet/keys/release.pub", PUBLIC_PEM)] for c in eu)
    assert all(c.model_signing_keys == () for c in us)
    assert RuntimeConfig.model_validate_json(eu[0].model_dump_json()) == eu[0]


def test_keys_are_read_from_a_commit_too(template_git_repo: Callable[[], tuple[Path, str]]) -> None:
    root, _ = template_git_repo()
    _write_key(root, "release.pub", PUBLIC_PEM)
    _declare(root, "fleet/keys/release.pub")
    sha = commit_all(root, "declare the release key")
    eu = [c for c in _runtime_configs(root, sha).values() if c.region == "eu-west"]
    assert eu
    assert all(c.model_signing_keys[0].pem == PUBLIC_PEM for c in eu)


def _problems(root: Path) -> dict[str, str]:
    result = load_desired(root)
    assert result.spec is None
    return {p.code: f"{p.location()} {p.message}" for p in result.errors}


def test_a_missing_key_file_is_a_positioned_error(template_fleet: Path) -> None:
    _declare(template_fleet, "fleet/keys/absent.pub")
    problem = _problems(template_fleet)["keys.missing"]
    assert problem.startswith(f"fleet/fleet.yaml:{_declared_line(template_fleet)}:11 ")  # the item naming it
    assert "region eu-west: no key file fleet/keys/absent.pub" in problem


@pytest.mark.parametrize(
    ("data", "code", "says"),
    [
        (b"not a key", "keys.invalid", "not a PEM public key"),
        (
            ec.generate_private_key(ec.SECP384R1())
            .public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
            "keys.invalid",
            "ECDSA P-256",
        ),
        (
            KEY.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
            "secret.plaintext",
            "holds a private key",
        ),
        (b"-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nabc\n", "secret.plaintext", "holds a private key"),
    ],
    ids=["garbage", "p384", "pkcs8-private", "cosign-private"],
)
def test_bad_key_files_are_refused(template_fleet: Path, data: bytes, code: str, says: str) -> None:
    _write_key(template_fleet, "release.pub", data)
    _declare(template_fleet, "fleet/keys/release.pub")
    problems = _problems(template_fleet)
    assert problems[code].startswith("fleet/keys/release.pub ")
    assert says in problems[code]
    assert "keys.missing" not in problems  # reported once, where the file is


def test_a_key_path_outside_fleet_keys_is_a_schema_error(template_fleet: Path) -> None:
    _declare(template_fleet, "../secrets/release.pub")
    problem = _problems(template_fleet)["schema.invalid-value"]
    line = _declared_line(template_fleet)
    assert problem.startswith(f"fleet/fleet.yaml:{line}:11 spec.regions[0].modelSigningKeys[0]: ")
