"""Scaling a model out (`replicas` and `partitions` of a zone's model assignment) never splits a key's window.

Matrix, on every model assignment of every template zone:
- generated replicas above 1 without partitions → schema.replicas-without-partitions at the replicas value, naming
  the zone file, the model and what sensors must publish; no spec;
- generated partitions below the replicas → schema.more-replicas-than-partitions at the partitions value;
- generated replicas within partitions (and one replica or none without partitions) → loads;
- every numeric feature field of the model used as the window key → ref.window-key-is-feature.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.core.load import Problem, SourceFile, SourceTree, load_tree
from reconciler.core.spec import FleetSpec
from tests.fixtures.template_repo import REPO_ROOT

pytestmark = pytest.mark.unit

TEMPLATE: dict[str, bytes] = {
    p.relative_to(REPO_ROOT).as_posix(): p.read_bytes()
    for root in ("fleet", "zones", "models")
    for p in sorted((REPO_ROOT / root).rglob("*.yaml"))
}
ZONE_FILES = sorted(p for p in TEMPLATE if p.startswith("zones/"))
_ITEM = re.compile(r"^    - model: (\S+)$", re.M)
_PARTITIONS = re.compile(r"^      partitions: .*\n", re.M)
_REPLICAS = re.compile(r"^      replicas: .*$", re.M)


def load(path: str, text: str) -> tuple[FleetSpec | None, tuple[Problem, ...]]:
    files = {**TEMPLATE, path: text.encode()}
    result = load_tree(SourceTree(files=tuple(SourceFile(k, v) for k, v in sorted(files.items()))))
    return result.spec, result.errors


def assignments() -> list[tuple[str, int, str]]:
    """(zone file, index, model) of every model assignment in the template."""
    return [
        (path, i, match.group(1))
        for path in ZONE_FILES
        for i, match in enumerate(_ITEM.finditer(TEMPLATE[path].decode()))
    ]


ASSIGNMENTS = assignments()


def scaled(path: str, index: int, replicas: int, partitions: int | None) -> str:
    """The zone file with assignment `index` at `replicas` and `partitions` (None: no partitions line)."""
    text = TEMPLATE[path].decode()
    items = [m.start() for m in _ITEM.finditer(text)] + [len(text)]
    start, end = items[index], items[index + 1]
    item = _PARTITIONS.sub("", text[start:end])
    line = f"      replicas: {replicas}" + (f"\n      partitions: {partitions}" if partitions is not None else "")
    item = _REPLICAS.sub(line, item) if _REPLICAS.search(item) else item.replace("\n", f"\n{line}\n", 1)
    return text[:start] + item + text[end:]


def position(text: str, key: str, index: int) -> tuple[int, int]:
    """Line and column of assignment `index`'s `key` value."""
    items = [m.start() for m in _ITEM.finditer(text)]
    offset = text.index(f"      {key}: ", items[index]) + len(f"      {key}: ")
    line_start = text.rindex("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - line_start + 1


def test_the_template_has_assignments_to_scale() -> None:
    assert len(ASSIGNMENTS) >= 6
    for path, index, _ in ASSIGNMENTS:  # the editing helper is exact: an unchanged scale is the template itself
        spec, errors = load(path, scaled(path, index, 1, None))
        assert spec is not None, errors


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(ASSIGNMENTS), st.integers(2, 100))
def test_replicas_without_partitions_are_refused(where: tuple[str, int, str], replicas: int) -> None:
    path, index, model = where
    text = scaled(path, index, replicas, None)
    spec, errors = load(path, text)
    assert spec is None
    found = [e for e in errors if e.code == "schema.replicas-without-partitions"]
    assert [(e.file, e.line, e.column) for e in found] == [(path, *position(text, "replicas", index))], errors
    message = found[0].message
    assert f"model {model!r}" in message
    assert f"replicas: {replicas} without partitions" in message
    assert "split every key's window" in message
    assert ".<key>'" in message  # what sensors must publish
    assert f"{path}:" in str(found[0])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(ASSIGNMENTS), st.data())
def test_fewer_partitions_than_replicas_are_refused(where: tuple[str, int, str], data: st.DataObject) -> None:
    path, index, model = where
    replicas = data.draw(st.integers(2, 100))
    partitions = data.draw(st.integers(1, replicas - 1))
    text = scaled(path, index, replicas, partitions)
    spec, errors = load(path, text)
    assert spec is None
    found = [e for e in errors if e.code == "schema.more-replicas-than-partitions"]
    assert [(e.file, e.line, e.column) for e in found] == [(path, *position(text, "partitions", index))], errors
    assert f"model {model!r}: {replicas} replicas but {partitions} partitions" in found[0].message


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(ASSIGNMENTS), st.data())
def test_replicas_within_partitions_load(where: tuple[str, int, str], data: st.DataObject) -> None:
    path, index, model = where
    replicas = data.draw(st.integers(0, 100))
    needed = st.integers(replicas, 1024)  # more than one replica needs partitions, at least one each
    partitions = data.draw(needed if replicas > 1 else st.none() | st.integers(1, 1024))
    spec, errors = load(path, scaled(path, index, replicas, partitions))
    assert spec is not None, errors
    zone = next(z for z in spec.zones if f"/{z.name}.yaml" in path)
    assignment = zone.spec.models[index]
    assert (assignment.model, assignment.replicas, assignment.partitions) == (model, replicas, partitions)
    assert assignment.partitioned == (partitions is not None)


@pytest.mark.parametrize("model", ["fraud-scoring", "sensor-anomaly"])
def test_a_numeric_feature_is_no_window_key(model: str) -> None:
    path, index, _ = next(a for a in ASSIGNMENTS if a[2] == model and "partitions" in TEMPLATE[a[0]].decode())
    fields = set(re.findall(r"field: (\w+)", TEMPLATE[f"models/{model}/model.yaml"].decode()))
    assert fields
    for field in sorted(fields):
        text = scaled(path, index, 2, 6)
        items = [m.start() for m in _ITEM.finditer(text)]
        head, tail = text[: items[index]], text[items[index] :]
        tail = re.sub(r"^      windowKey: .*\n", "", tail, count=1, flags=re.M)
        tail = tail.replace("      partitions: 6\n", f"      partitions: 6\n      windowKey: {field}\n", 1)
        spec, errors = load(path, head + tail)
        assert spec is None
        found = [e for e in errors if e.code == "ref.window-key-is-feature"]
        assert len(found) == 1, errors
        assert found[0].file == path
        assert f"model {model!r}: window key {field!r}" in found[0].message
        assert "not a subject token" in found[0].message
