"""Input checks of the local Kubernetes environment (no processes started).

Matrix: CRD folders -> upstream and fallback copies load, conversion stanza dropped, v1beta2 served; a folder
without YAML, a non-CRD document and broken YAML -> CrdSourceError naming the file; binaries absent ->
BinariesMissing saying where it looked and how to build; bad or duplicate zone names -> LocalKubeError before
anything starts; generated PKI -> admin certificate in system:masters, serving certificate for 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from reconciler.sandbox.localkube import (
    FALLBACK_CRD_DIR,
    UPSTREAM_CRD_DIR,
    BinariesMissing,
    CrdSourceError,
    KubeBinaries,
    LocalKube,
    LocalKubeError,
    find_binaries,
    load_crds,
)
from reconciler.sandbox.localkube.pki import write_zone_pki

pytestmark = pytest.mark.unit

_CRD_DIRS = [pytest.param(FALLBACK_CRD_DIR, id="fallback")]
if UPSTREAM_CRD_DIR.is_dir():
    _CRD_DIRS.append(pytest.param(UPSTREAM_CRD_DIR, id="upstream"))


@pytest.mark.parametrize("directory", _CRD_DIRS)
def test_crd_folders_load_without_conversion_webhooks(directory: Path) -> None:
    crds = {crd["metadata"]["name"]: crd for crd in load_crds(directory)}
    assert {"nodepools.apps.openyurt.io", "helmcharts.helm.cattle.io"} <= crds.keys()
    assert all("conversion" not in crd["spec"] for crd in crds.values())
    node_pool_versions = {v["name"]: v for v in crds["nodepools.apps.openyurt.io"]["spec"]["versions"]}
    assert node_pool_versions["v1beta2"]["served"]
    assert node_pool_versions["v1beta2"]["storage"]


def test_empty_crd_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CrdSourceError, match=str(tmp_path)):
        load_crds(tmp_path)


def test_non_crd_document_is_named(tmp_path: Path) -> None:
    (tmp_path / "thing.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    with pytest.raises(CrdSourceError, match=r"thing\.yaml: document 1 is 'ConfigMap'"):
        load_crds(tmp_path)


def test_broken_yaml_is_named(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("kind: [CustomResourceDefinition\n")
    with pytest.raises(CrdSourceError, match=r"broken\.yaml: cannot read CRD"):
        load_crds(tmp_path)


def test_missing_binaries_say_how_to_build_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGEOPS_BIN", str(tmp_path / "bin"))
    monkeypatch.setenv("EDGEOPS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(BinariesMissing, match=r"kube and kine not found in .*install-kube\.sh"):
        find_binaries()


@pytest.mark.parametrize(
    ("names", "message"),
    [
        pytest.param(["Zone_A"], "must be a DNS label", id="not-a-dns-label"),
        pytest.param(["a", "a"], "already part", id="duplicate"),
    ],
)
def test_bad_zone_names_fail_before_starting(tmp_path: Path, names: list[str], message: str) -> None:
    unbuilt = KubeBinaries(kube=tmp_path / "no-kube", kine=tmp_path / "no-kine")
    env = LocalKube(tmp_path / "env", binaries=unbuilt, crd_dir=FALLBACK_CRD_DIR)
    with pytest.raises(LocalKubeError, match=message):
        env.start_zones(names)
    assert env.zones == {}


def test_zone_pki_identities(tmp_path: Path) -> None:
    pki = write_zone_pki(tmp_path, "east")
    admin = x509.load_pem_x509_certificate(pki.admin_cert.read_bytes())
    assert admin.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "system:masters"
    serving = x509.load_pem_x509_certificate(pki.serving_cert.read_bytes())
    sans = serving.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("127.0.0.1") in sans.get_values_for_type(x509.IPAddress)
    ca = x509.load_pem_x509_certificate(pki.ca_cert.read_bytes())
    serving.verify_directly_issued_by(ca)
    admin.verify_directly_issued_by(ca)
    assert oct(pki.admin_key.stat().st_mode & 0o777) == "0o600"
