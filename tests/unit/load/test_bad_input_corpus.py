"""The bad-input corpus (tests/data/bad-input/*.yaml): each case writes one file into a copy of the template fleet
and must be rejected with its expected code at its expected position; nothing else about the fleet changes.

Matrix: every case × (code, file, line, column); plus: the result carries no spec (nothing may be applied).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from reconciler.app.desired import load_desired
from tests.fixtures.template_repo import copy_template

pytestmark = pytest.mark.unit

CORPUS = Path(__file__).resolve().parents[2] / "data" / "bad-input"
_EXPECT = re.compile(r"^(?P<code>[a-z]+\.[a-z0-9-]+)(?: (?:(?P<file>[\w./-]+):)?(?P<line>\d+):(?P<col>\d+))?$")


@dataclass(frozen=True)
class Case:
    name: str
    path: str
    code: str
    file: str | None
    line: int | None
    column: int | None
    content: bytes


def _read_case(file: Path) -> Case:
    header, _, body = file.read_bytes().partition(b"# ---\n")
    meta = dict(
        line.removeprefix("# ").split(": ", 1) for line in header.decode().splitlines() if line.startswith("# ")
    )
    match = _EXPECT.match(meta["expect"])
    assert match, f"{file.name}: malformed expect line {meta['expect']!r}"
    return Case(
        name=file.stem,
        path=meta["path"],
        code=match["code"],
        file=match["file"],
        line=int(match["line"]) if match["line"] else None,
        column=int(match["col"]) if match["col"] else None,
        content=body,
    )


CASES = [_read_case(f) for f in sorted(CORPUS.glob("*.yaml"))]


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 30
    assert len({c.code for c in CASES}) >= 25, "the corpus should exercise most problem codes"


@pytest.mark.timeout(30)
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_is_rejected_at_its_position(case: Case, tmp_path: Path) -> None:
    root = copy_template(tmp_path)
    target = root / case.path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(case.content)

    result = load_desired(root)

    assert result.spec is None, "a fleet with errors must not produce a spec"
    expected_file = case.file or case.path
    matching = [p for p in result.errors if p.code == case.code and p.file == expected_file]
    assert matching, f"expected {case.code} in {expected_file}; got:\n" + "\n".join(map(str, result.problems))
    if case.line is not None:
        positions = {(p.line, p.column) for p in matching}
        assert (case.line, case.column) in positions, f"{case.code} reported at {sorted(positions)}"
    assert all(p.message for p in result.problems)


def test_hostile_yaml_runs_nothing(tmp_path: Path) -> None:
    sentinel = tmp_path / "pwned"
    root = copy_template(tmp_path / "repo")
    (root / "zones/eu-west/evil.yaml").write_text(
        f'apiVersion: !!python/object/apply:os.system ["touch {sentinel}"]\n', encoding="utf-8"
    )
    result = load_desired(root)
    assert not sentinel.exists()
    assert any(p.code == "yaml.tag" for p in result.errors)
