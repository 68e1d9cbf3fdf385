"""Two zones that reach the same cluster, by kubeconfig context or by API server URL, are a `ref.duplicate-cluster`
error at the second zone's `context` or `server` line, in both readers (so they can never prune each other). A
server URL written another way (case, an explicit default port, a trailing slash or dot) is the same server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.app.desired import load_desired
from reconciler.core.load.crossref import same_server
from tests.fixtures.template_repo import commit_all

pytestmark = pytest.mark.unit

PATH = "zones/us-east/zzz-09.yaml"


def _zone(cluster: str) -> str:
    return f"""apiVersion: edgeops.io/v1alpha1
kind: Zone
metadata:
  name: zzz-09
spec:
  region: us-east
  cluster:
{cluster}  hardware:
    arch: amd64
  nats:
    domain: zzz-09
"""


def _duplicates(root: Path, rev: str | None = None) -> list[str]:
    result = load_desired(root, rev)
    return [p.location() for p in result.errors if p.code == "ref.duplicate-cluster"]


@pytest.mark.parametrize(
    ("cluster", "at"),
    [
        ("    context: k3s-nyc-01\n", f"{PATH}:8:14"),
        ("    context: other\n    server: https://10.40.1.10:6443\n", f"{PATH}:9:13"),
        ("    server: https://10.40.1.10:6443/\n", f"{PATH}:8:13"),
        ("    server: https://nyc.example:443\n", None),
    ],
)
def test_the_same_cluster_twice_is_refused_in_both_readers(
    template_git_repo: Callable[[], tuple[Path, str]], cluster: str, at: str | None
) -> None:
    path, _ = template_git_repo()
    (path / PATH).write_text(_zone(cluster))
    sha = commit_all(path, "a second zone")
    expected = [at] if at else []
    assert _duplicates(path) == expected
    assert _duplicates(path, sha) == expected


HOSTS = st.from_regex(r"[a-z][a-z0-9-]{0,10}(\.[a-z][a-z0-9-]{0,8}){0,2}", fullmatch=True)


@given(host=HOSTS, port=st.sampled_from([None, 443, 6443]), upper=st.booleans(), slash=st.booleans())
def test_spellings_of_one_server_are_one_server(host: str, port: int | None, upper: bool, slash: bool) -> None:
    canonical = same_server(f"https://{host}:{port or 443}")
    spelled = f"{'HTTPS' if upper else 'https'}://{host.upper() if upper else host}{f':{port}' if port else ''}"
    assert same_server(spelled + ("/" if slash else "")) == canonical
    assert same_server(f"https://{host}x:{port or 443}") != canonical
