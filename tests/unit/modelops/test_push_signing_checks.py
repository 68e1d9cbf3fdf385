"""`edgeops model push` refuses, before any upload, what a region's edge would refuse: no signing key while the
fleet declares modelSigningKeys, or a key whose public half is not among them; a fleet without keys needs none."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from reconciler.app.modelops import PushConfigError, SigningKey
from reconciler.app.modelops.push import check_signing_key
from runtime import cosign
from tests.fixtures.template_repo import copy_template

pytestmark = pytest.mark.unit

RELEASE = SigningKey(ec.generate_private_key(ec.SECP256R1()), "signing key file release.key")
OTHER = SigningKey(ec.generate_private_key(ec.SECP256R1()), "signing key in $OTHER_KEY")


def _fleet(tmp_path: Path, *, declare: bool) -> Path:
    root = copy_template(tmp_path / "repo")
    fleet_yaml = root / "fleet/fleet.yaml"
    if declare:
        (root / "fleet/keys").mkdir()
        (root / "fleet/keys/release.pub").write_text(cosign.public_key_pem(RELEASE.key.public_key()))
        text = fleet_yaml.read_text(encoding="utf-8").replace(
            "    - name: us-east\n", "    - name: us-east\n      modelSigningKeys: [fleet/keys/release.pub]\n", 1
        )
        fleet_yaml.write_text(text, encoding="utf-8")
    return fleet_yaml


def test_a_fleet_without_keys_needs_no_signing_key(tmp_path: Path) -> None:
    fleet_yaml = _fleet(tmp_path, declare=False)
    check_signing_key(fleet_yaml, None)
    check_signing_key(fleet_yaml, OTHER)


def test_declared_keys_need_a_trusted_signing_key(tmp_path: Path) -> None:
    fleet_yaml = _fleet(tmp_path, declare=True)
    check_signing_key(fleet_yaml, RELEASE)
    with pytest.raises(PushConfigError, match="region us-east runs only signed model artifacts"):
        check_signing_key(fleet_yaml, None)
    with pytest.raises(PushConfigError, match=r"signing key in \$OTHER_KEY is not one of region us-east's"):
        check_signing_key(fleet_yaml, OTHER)


def test_an_unreadable_key_file_is_named(tmp_path: Path) -> None:
    fleet_yaml = _fleet(tmp_path, declare=True)
    (fleet_yaml.parent / "keys/release.pub").write_text("not a key")
    with pytest.raises(PushConfigError, match=r"fleet/keys/release\.pub: not a PEM public key"):
        check_signing_key(fleet_yaml, RELEASE)
