"""Non-file entries under zones/, fleet/ and models/ (a submodule gitlink, a symlink to a directory, a FIFO, a
root that is itself a symlink) are `layout.not-a-file` errors at their path in both readers, whatever their name;
none of them raises, blocks or lets the loader read what lies behind it."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

import pygit2
import pytest

from reconciler.app.desired import load_desired
from reconciler.core.load import Problem
from reconciler.shells.tree import read_directory, read_revision
from tests.fixtures.template_repo import commit_all

pytestmark = pytest.mark.unit

AUTHOR = pygit2.Signature("edgeops tests", "tests@edgeops.invalid", 1_700_000_000, 0)


def _not_files(problems: Iterable[Problem]) -> set[str]:
    return {p.file for p in problems if p.code == "layout.not-a-file"}


def _commit_with_gitlink(path: Path, at: str) -> str:
    """Commit a gitlink (mode 160000, as `git submodule add` records) at `at`, beside the committed files."""
    repo = pygit2.Repository(str(path))
    repo.index.read()
    entry = pygit2.IndexEntry(at, pygit2.Oid(hex="1" * 40), pygit2.enums.FileMode.COMMIT)
    repo.index.add(entry)
    repo.index.write()
    tree = repo.index.write_tree()
    return str(repo.create_commit("HEAD", AUTHOR, AUTHOR, "submodule", tree, [repo.head.target]))


@pytest.mark.parametrize("at", ["zones/eu-west/vendor", "zones/eu-west/lis-09.yaml", "models/ext", "fleet/policies"])
def test_a_gitlink_is_a_positioned_error(template_git_repo: Callable[[], tuple[Path, str]], at: str) -> None:
    path, _ = template_git_repo()
    if at == "fleet/policies" and (path / at).exists():
        at = "fleet/vendored"
    sha = _commit_with_gitlink(path, at)
    assert at in _not_files(read_revision(path, sha).problems)
    result = load_desired(path, sha)
    assert result.spec is None
    assert any(p.code == "layout.not-a-file" and p.file == at for p in result.errors)


@pytest.mark.parametrize("link", ["zones/eu-west/more", "models/alias", "fleet/policies-link"])
def test_a_symlink_to_a_directory_is_an_error_in_both_readers(
    template_git_repo: Callable[[], tuple[Path, str]], link: str
) -> None:
    path, _ = template_git_repo()
    depth = link.count("/")
    os.symlink("../" * depth + "zones/eu-west", path / link)
    sha = commit_all(path, "link a directory")
    assert link in _not_files(read_revision(path, sha).problems)
    assert link in _not_files(read_directory(path).problems)
    assert load_desired(path).spec is None
    assert load_desired(path, sha).spec is None


def test_a_root_that_is_a_symlink_is_an_error_in_both_readers(
    template_git_repo: Callable[[], tuple[Path, str]], tmp_path: Path
) -> None:
    path, _ = template_git_repo()
    (path / "zones").rename(path / "elsewhere")
    os.symlink("elsewhere", path / "zones")
    sha = commit_all(path, "zones is a link")
    assert "zones" in _not_files(read_revision(path, sha).problems)
    assert "zones" in _not_files(read_directory(path).problems)


def test_a_nested_checkout_in_a_working_tree_is_not_read(template_fleet: Path) -> None:
    nested = template_fleet / "zones" / "eu-west" / "vendor"
    nested.mkdir()
    (nested / ".git").write_text("gitdir: ../../../.git/modules/vendor\n")
    (nested / "x.yaml").write_text("not: [read\n")
    problems = read_directory(template_fleet).problems
    assert _not_files(problems) == {"zones/eu-west/vendor"}
    assert not any(p.file.startswith("zones/eu-west/vendor/") for p in problems)


def test_a_fifo_is_refused_without_blocking(template_fleet: Path) -> None:
    os.mkfifo(template_fleet / "zones" / "eu-west" / "pipe.yaml")
    os.mkfifo(template_fleet / "models" / "pipe")
    assert _not_files(read_directory(template_fleet).problems) == {"zones/eu-west/pipe.yaml", "models/pipe"}
