"""`read_document` (the one YAML reading) and the round-trip writing checked against it.

Matrix:
- an explicit tag on a scalar it cannot hold (`!!int two`, `!!float x`, `!!bool maybe`, `!!null x`, `!!int ''`)
  → yaml.bad-scalar at the value, never an exception; text and bytes read the same (size and encoding rules);
- `written` + `round_trip_yaml`: generated strings and floats an edit writes read back, to the loader, as the
  value written (a string such as `yes`, `1:20` or `010` is quoted; a float always has a dot: `1.0e-07`);
- `write`: a value ruamel would write back as another value (or text) is written as the loader read it, a key it
  would add is dropped; a change of structure the loader would see is refused with its position
  (`MeaningChanged`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.core.load import (
    MAX_FILE_BYTES,
    Problem,
    YamlDocument,
    read_document,
    round_trip_dump,
    round_trip_load,
    round_trip_yaml,
    write,
    written,
)
from reconciler.core.load.roundtrip import MeaningChanged, reads_as_text
from tests.fixtures.template_repo import REPO_ROOT

pytestmark = pytest.mark.unit

ZONE = "zones/eu-west/ams-01.yaml"
AMS = (REPO_ROOT / ZONE).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("text", "column"),
    [("a: !!int two", 4), ("a: !!float x", 4), ("a: !!bool maybe", 4), ("a: !!null x", 4), ("b: 1\na: !!int ''", 4)],
)
def test_a_scalar_its_tag_cannot_hold_is_a_positioned_problem(text: str, column: int) -> None:
    problem = read_document("f.yaml", text)
    assert isinstance(problem, Problem)
    assert (problem.code, problem.line, problem.column) == ("yaml.bad-scalar", text.count("\n") + 1, column)


@pytest.mark.parametrize(("text", "value"), [("a: !!int '010'", 8), ("a: !!float '1'", 1.0), ("a: !!bool 'yes'", True)])
def test_a_scalar_its_tag_can_hold_is_read_by_the_tag(text: str, value: object) -> None:
    document = read_document("f.yaml", text)
    assert isinstance(document, YamlDocument)
    assert document.data == {"a": value}


def test_text_and_bytes_are_read_the_same() -> None:
    assert read_document(ZONE, AMS) == read_document(ZONE, AMS.encode())
    too_large = "a: " + "x" * MAX_FILE_BYTES
    assert [read_document("f.yaml", too_large), read_document("f.yaml", too_large.encode())] == [
        Problem("f.yaml", 0, 0, "yaml.too-large", f"file is {len(too_large)} bytes; the limit is {MAX_FILE_BYTES}")
    ] * 2


def _read_back(value: Any) -> Any:
    editor = round_trip_yaml("a: 1\n")
    tree = round_trip_load("f.yaml", editor, "a: 1\nb: 2\n", {"a": 1, "b": 2})
    tree["b"] = written(value)
    document = read_document("f.yaml", round_trip_dump("f.yaml", editor, tree))
    assert isinstance(document, YamlDocument), document
    return document.data["b"]


@pytest.mark.parametrize("text", ["yes", "No", "on", "OFF", "1:20", "010", "0x1F", "1_000", "~", "null", "", "1.5"])
def test_a_string_the_loader_would_read_as_another_value_is_written_quoted(text: str) -> None:
    assert not reads_as_text(text)
    assert _read_back(text) == text


@given(st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=30))
def test_any_written_string_reads_back_as_itself(text: str) -> None:
    assert _read_back(text) == text


@given(st.floats(allow_nan=False) | st.sampled_from([1e-07, 1e20, 5e-324, -0.0]))
def test_any_written_float_reads_back_as_that_number(value: float) -> None:
    back = _read_back(value)
    assert isinstance(back, float)
    assert back == value
    assert math.copysign(1, back) == math.copysign(1, value)


def test_a_float_with_no_dot_is_written_with_one() -> None:
    editor = round_trip_yaml("a: 1\n")
    tree = round_trip_load("f.yaml", editor, "a: 1\n", {"a": 1})
    tree["a"] = 1e-07
    assert round_trip_dump("f.yaml", editor, tree) == "a: 1.0e-07\n"


def _unintended(change: Callable[[Any], None]) -> tuple[str, Any]:
    """ams-01 with `change` made to the round-trip tree while the intent is "nothing changes"."""
    document = read_document(ZONE, AMS)
    assert isinstance(document, YamlDocument)
    editor = round_trip_yaml(AMS)
    tree = round_trip_load(ZONE, editor, AMS, document.data)
    change(tree)
    return write(ZONE, "Zone", editor, tree, document.data)


def _set(path: tuple[str | int, ...], value: object) -> Callable[[Any], None]:
    def change(tree: Any) -> None:
        for part in path[:-1]:
            tree = tree[part]
        tree[path[-1]] = value

    return change


@pytest.mark.parametrize(
    "change",
    [
        _set(("spec", "models", 0, "replicas"), 3),  # as ruamel re-writes 7.692278813919984e-08 as ...982e-08
        _set(("metadata", "labels", "site"), 3),
        _set(("spec", "paused"), True),  # a key the document does not have
    ],
)
def test_a_value_written_back_as_another_value_is_written_as_the_loader_read_it(change: Callable[[Any], None]) -> None:
    text, _ = _unintended(change)
    assert text == AMS


def test_a_change_of_structure_the_loader_would_see_is_refused_with_its_position() -> None:
    with pytest.raises(MeaningChanged, match=rf"^{ZONE}:17:14: .* spec\.nodePools means to the loader"):
        _unintended(_set(("spec", "nodePools"), []))


def test_a_value_ruamel_would_rewrite_is_written_as_the_loaders_text() -> None:
    text = AMS.replace("site: amsterdam", "site: 2026-11-27t09:00:00.5")  # a label: text to the loader
    document = read_document(ZONE, text)
    assert isinstance(document, YamlDocument)
    editor = round_trip_yaml(text)
    tree = round_trip_load(ZONE, editor, text, document.data)
    result, _ = write(ZONE, "Zone", editor, tree, document.data)
    assert "    site: '2026-11-27t09:00:00.5'\n" in result
    assert result.replace("'2026-11-27t09:00:00.5'", "2026-11-27t09:00:00.5") == text
