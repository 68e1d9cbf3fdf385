"""Files that cannot be read safely: non-UTF-8, oversized, symlinks leaving the repository (working tree and git),
BOM handling, a missing fleet.yaml. Each case gives its code and nothing is partially loaded."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.app.desired import load_desired
from reconciler.core.load import MAX_FILE_BYTES
from reconciler.shells.tree import TreeReadError
from tests.fixtures.template_repo import commit_all

pytestmark = pytest.mark.unit

ZONE = "zones/eu-west/lis-03.yaml"


def _codes(root: Path, rev: str | None = None) -> dict[str, str]:
    result = load_desired(root, rev)
    assert result.spec is None
    return {p.code: p.location() for p in result.errors}


def test_non_utf8_is_rejected_with_its_position(template_fleet: Path) -> None:
    (template_fleet / ZONE).write_bytes(b"apiVersion: edgeops.io/v1alpha1\nkind: Zone\nmetadata:\n  name: caf\xe9\n")
    assert _codes(template_fleet)["yaml.encoding"] == f"{ZONE}:4:12"


def test_utf8_bom_is_accepted(template_fleet: Path) -> None:
    path = template_fleet / ZONE
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert load_desired(template_fleet).ok


def test_oversized_file_is_not_read(template_fleet: Path) -> None:
    (template_fleet / ZONE).write_bytes(b"# " + b"x" * MAX_FILE_BYTES + b"\n")
    assert _codes(template_fleet)["yaml.too-large"] == ZONE


def test_symlink_leaving_the_repository_is_rejected(template_fleet: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_bytes((template_fleet / ZONE).read_bytes())
    (template_fleet / ZONE).unlink()
    os.symlink(outside, template_fleet / ZONE)
    assert _codes(template_fleet)["layout.symlink-escape"] == ZONE


def test_symlink_inside_the_repository_is_followed(template_fleet: Path) -> None:
    (template_fleet / "shared").mkdir()
    (template_fleet / ZONE).rename(template_fleet / "shared/lis-03.yaml")
    os.symlink("../../shared/lis-03.yaml", template_fleet / ZONE)
    assert load_desired(template_fleet).ok


def test_symlink_escape_in_a_commit_is_rejected(template_git_repo: Callable[[], tuple[Path, str]]) -> None:
    path, _ = template_git_repo()
    (path / ZONE).unlink()
    os.symlink("../../../../etc/hostname", path / ZONE)
    sha = commit_all(path, "link out")
    assert _codes(path, sha)["layout.symlink-escape"] == ZONE


def test_missing_fleet_file(template_fleet: Path) -> None:
    (template_fleet / "fleet/fleet.yaml").unlink()
    assert "layout.missing-fleet" in _codes(template_fleet)


def test_unknown_revision_and_missing_directory_raise(
    template_git_repo: Callable[[], tuple[Path, str]], tmp_path: Path
) -> None:
    path, _ = template_git_repo()
    with pytest.raises(TreeReadError, match="unknown revision"):
        load_desired(path, "no-such-branch")
    with pytest.raises(TreeReadError, match="not a directory"):
        load_desired(tmp_path / "missing")
    with pytest.raises(TreeReadError, match="git repository"):
        load_desired(tmp_path, "HEAD")


def test_all_errors_are_reported_not_just_the_first(template_fleet: Path) -> None:
    (template_fleet / ZONE).write_text("a: [1\n", encoding="utf-8")
    (template_fleet / "zones/us-east/bos-02.yaml").write_text(
        (template_fleet / "zones/us-east/bos-02.yaml")
        .read_text(encoding="utf-8")
        .replace("replicas: 2", "replicas: -1"),
        encoding="utf-8",
    )
    codes = load_desired(template_fleet).errors
    assert {p.file for p in codes} >= {ZONE, "zones/us-east/bos-02.yaml"}
