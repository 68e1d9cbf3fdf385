"""The CustomResourceDefinitions every zone gets: OpenYurt `NodePool` and K3s `HelmChart` (plus any other CRD in
the same folder).

The upstream CRDs live in `<repo>/../shared/crds/`; when that folder is absent a minimal copy of our own in
`tests/env/crds/` is used. NodePool's CRD declares a conversion webhook served by OpenYurt's yurt-manager, which
a local apiserver does not have: the stanza is dropped in memory (objects are written and read as v1beta2, the
storage version, so no conversion is ever needed).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from reconciler.sandbox.localkube.api import AdminApi
from reconciler.sandbox.localkube.errors import ApiRequestError, CrdSourceError

_REPO_ROOT = Path(__file__).resolve().parents[3]
UPSTREAM_CRD_DIR = _REPO_ROOT.parent / "shared" / "crds"
FALLBACK_CRD_DIR = _REPO_ROOT / "tests" / "env" / "crds"
_CRD_COLLECTION = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


def default_crd_dir() -> Path:
    """The upstream CRD folder when present, else our minimal copies."""
    return UPSTREAM_CRD_DIR if UPSTREAM_CRD_DIR.is_dir() else FALLBACK_CRD_DIR


def load_crds(directory: Path) -> tuple[dict[str, Any], ...]:
    """Every CRD in `directory/*.yaml`, conversion webhooks removed; raises `CrdSourceError` naming the file."""
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise CrdSourceError(f"no CRD files (*.yaml) in {directory}")
    return tuple(crd for path in files for crd in _load_file(path))


def _load_file(path: Path) -> list[dict[str, Any]]:
    try:
        documents = [doc for doc in YAML(typ="safe").load_all(path.read_text()) if doc is not None]
    except (OSError, YAMLError) as error:
        raise CrdSourceError(f"{path}: cannot read CRD: {error}") from error
    crds = []
    for index, doc in enumerate(documents):
        if not isinstance(doc, dict) or doc.get("kind") != "CustomResourceDefinition":
            kind = doc.get("kind") if isinstance(doc, dict) else type(doc).__name__
            raise CrdSourceError(f"{path}: document {index + 1} is {kind!r}, not a CustomResourceDefinition")
        spec = doc.get("spec")
        if not isinstance(spec, dict):
            raise CrdSourceError(f"{path}: document {index + 1} has no spec")
        spec.pop("conversion", None)
        crds.append(doc)
    return crds


def install_crds(api: AdminApi, crds: Sequence[dict[str, Any]], timeout_s: float = 60.0) -> None:
    """Create the CRDs (existing ones are kept) and wait until each is Established and served."""
    for crd in crds:
        api.create(_CRD_COLLECTION, crd)
    deadline = time.monotonic() + timeout_s
    for crd in crds:
        name = crd["metadata"]["name"]
        while not _established(api, name):
            if time.monotonic() > deadline:
                raise ApiRequestError(f"CRD {name} not Established after {timeout_s:.0f} s")
            time.sleep(0.1)


def _established(api: AdminApi, name: str) -> bool:
    reply = api.request("GET", f"{_CRD_COLLECTION}/{name}")
    if reply.status != 200:
        return False
    conditions = (reply.json().get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions)
