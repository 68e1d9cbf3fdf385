"""Points in time in the spec: one aware Timestamp type for every datetime field.

Matrix:
- every datetime field of every document kind refuses a time without a time zone (found by walking the models,
  so a field added later is covered);
- generated aware times (any offset, Z / z / ±hh:mm / ±hhmm, T or space, with or without fractions, quoted or an
  unquoted YAML timestamp) × canary.startedAt / canary.stepStartedAt / compat checkedAt → loaded as the instant
  written; a canary loaded with them is analysed by `decide` (with samples in other offsets) without raising;
- generated naive times (date only, date and time; quoted or not) × the same fields → schema.naive-timestamp at
  the value's line and column, no spec;
- numbers and non-ISO text are not timestamps; the editor's stamp and CanaryState refuse naive datetimes.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Annotated, Any, get_args

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import AwareDatetime, BaseModel, TypeAdapter, ValidationError

from reconciler.core.canary import (
    CanaryState,
    CanaryStep,
    Measurements,
    Thresholds,
    TrackSample,
    Verdict,
    WindowSample,
    ZoneMeasurement,
    decide,
    set_step,
)
from reconciler.core.load import Problem, SourceFile, SourceTree, load_tree
from reconciler.core.spec import KINDS, CanaryPolicySpec, Zone
from tests.fixtures.template_repo import REPO_ROOT

pytestmark = pytest.mark.unit

ZONE = "zones/eu-west/ams-01.yaml"
MODEL = "models/fraud-scoring/model.yaml"
TEMPLATE: dict[str, bytes] = {
    p.relative_to(REPO_ROOT).as_posix(): p.read_bytes()
    for root in ("fleet", "zones", "models")
    for p in sorted((REPO_ROOT / root).rglob("*.yaml"))
}
STARTED = 'startedAt: "2026-11-27T09:00:00Z"'


def _first_checked(model_yaml: str) -> str:
    """The template model's first recorded compat check, whatever its time (`edgeops model compat` rewrites it)."""
    found = re.search(r"checkedAt: \S+", model_yaml)
    assert found is not None
    return found.group(0)


CHECKED = _first_checked(TEMPLATE[MODEL].decode())


def load(path: str, text: str) -> tuple[Zone | None, tuple[Problem, ...]]:
    files = {**TEMPLATE, path: text.encode()}
    result = load_tree(SourceTree(files=tuple(SourceFile(k, v) for k, v in sorted(files.items()))))
    zone = next(z for z in result.spec.zones if z.name == "ams-01") if result.spec is not None else None
    return zone, result.errors


def _datetime_fields() -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    seen: set[type[BaseModel]] = set()

    def walk(model: type[BaseModel], where: str) -> None:
        if model in seen:
            return
        seen.add(model)
        for name, info in model.model_fields.items():
            annotation = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
            if _is_datetime(info.annotation):
                found.append((f"{where}.{name}", annotation))
            for arg in _models_in(info.annotation):
                walk(arg, f"{where}.{name}")

    for kind, model in KINDS.items():
        walk(model, kind)
    return found


def _is_datetime(annotation: Any) -> bool:
    if annotation is AwareDatetime or (isinstance(annotation, type) and issubclass(annotation, datetime)):
        return True
    return any(_is_datetime(arg) for arg in get_args(annotation))


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in getattr(annotation, "__args__", ()) or () for m in _models_in(arg)]


DATETIME_FIELDS = _datetime_fields()


def test_the_spec_has_the_datetime_fields_this_module_exercises() -> None:
    names = {name.rsplit(".", 1)[-1] for name, _ in DATETIME_FIELDS}
    assert names == {"started_at", "step_started_at", "checked_at"}


@pytest.mark.parametrize(("name", "annotation"), DATETIME_FIELDS, ids=[n for n, _ in DATETIME_FIELDS])
def test_every_datetime_field_refuses_a_time_without_a_zone(name: str, annotation: Any) -> None:
    adapter: TypeAdapter[Any] = TypeAdapter(annotation)
    assert adapter.validate_python("2026-11-27T09:00:00Z") == datetime(2026, 11, 27, 9, tzinfo=UTC)
    for naive in ("2026-11-27T09:00:00", "2026-11-27 09:00:00", "2026-11-27", datetime(2026, 11, 27, 9)):
        with pytest.raises(ValidationError) as raised:
            adapter.validate_python(naive)
        assert [e["type"] for e in raised.value.errors()] == ["timezone_aware"], name


@pytest.mark.parametrize("value", [1795770000, "1795770000", 17.5, True, "next tuesday", "27/11/2026 09:00Z"])
def test_numbers_and_other_text_are_not_timestamps(value: object) -> None:
    zone, errors = load(ZONE, TEMPLATE[ZONE].decode().replace(STARTED, f"startedAt: {value!r}".replace("'", '"')))
    assert zone is None
    assert [(e.code, e.line, e.column) for e in errors] == [("schema.wrong-type", 41, 20)]


offsets = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))
instants = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31))


def _offset_text(at: datetime, style: str) -> str:
    offset = at.utcoffset()
    assert offset is not None
    minutes = int(offset.total_seconds()) // 60
    if minutes == 0 and style in ("Z", "z"):
        return style
    sign, minutes = ("+" if minutes >= 0 else "-"), abs(minutes)
    return f"{sign}{minutes // 60:02d}{':' if style != 'compact' else ''}{minutes % 60:02d}"


@st.composite
def aware_texts(draw: st.DrawFn) -> tuple[str, datetime]:
    timespec = draw(st.sampled_from(["seconds", "microseconds"]))
    at = draw(instants).replace(tzinfo=draw(offsets))
    at = at.replace(microsecond=0) if timespec == "seconds" else at
    clock = at.isoformat(timespec=timespec)[:-6]  # without the offset isoformat appends
    separator = draw(st.sampled_from(["T", " "]))
    text = clock.replace("T", separator) + _offset_text(at, draw(st.sampled_from(["Z", "z", "colon", "compact"])))
    return (text if draw(st.booleans()) else f'"{text}"'), at


@st.composite
def naive_texts(draw: st.DrawFn) -> str:
    at = draw(instants)
    text = draw(
        st.sampled_from(
            [
                at.date().isoformat(),
                at.isoformat(timespec="seconds"),
                at.isoformat(timespec="seconds").replace("T", " "),
                at.isoformat(timespec="microseconds"),
            ]
        )
    )
    return text if draw(st.booleans()) else f'"{text}"'


def _with(path: str, field: str, text: str) -> str:
    template = TEMPLATE[path].decode()
    if field == "startedAt":
        return template.replace(STARTED, f"startedAt: {text}")
    if field == "stepStartedAt":  # after startedAt, as a step's start must be
        return template.replace(STARTED, 'startedAt: "1999-12-30T00:00:00Z"\n        stepStartedAt: ' + text)
    assert CHECKED in template
    return template.replace(CHECKED, f"checkedAt: {text}", 1)


FIELDS = [(ZONE, "startedAt"), (ZONE, "stepStartedAt"), (MODEL, "checkedAt")]
POLICY = CanaryPolicySpec.model_validate({"steps": [10, 25, 50, 100], "analysisInterval": "10s", "failureLimit": 1})
LIMITS = Thresholds(p95_latency_ms=30, error_rate_percent=1.0, max_ratio_to_stable=1.5, min_samples=10)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(FIELDS), aware_texts(), offsets, st.integers(0, 10 * 365 * 24 * 3600))
def test_aware_times_load_as_written_and_are_analysed(
    where: tuple[str, str], written: tuple[str, datetime], sample_zone: timezone, later: int
) -> None:
    path, field = where
    text, instant = written
    zone, errors = load(path, _with(path, field, text))
    assert errors == (), errors
    if path == MODEL:
        return  # the model's checkedAt is only evidence; it is never compared with the clock
    assert zone is not None
    canary = zone.spec.models[0].canary
    assert canary is not None
    assert (canary.started_at if field == "startedAt" else canary.step_started) == instant
    # The analysis compares these with the clock and with sample windows, which may carry any offset.
    now = (canary.step_started + timedelta(seconds=later)).astimezone(sample_zone)
    sample = TrackSample(p95_latency_ms=12.0, requests=100, errors=0, latency_samples=100)
    window = WindowSample(start=now - timedelta(seconds=10), end=now, canary=sample, stable=sample)
    state = CanaryState(
        model="fraud-scoring",
        version=canary.version,
        stable_version="1.0.0",
        zones=("ams-01",),
        phase=canary.phase,
        weight=canary.weight,
        started_at=canary.started_at,
        now=now,
        step_started_at=canary.step_started,
    )
    measured = Measurements(at=now, window=timedelta(seconds=10), zones=(ZoneMeasurement("ams-01", (window,)),))
    assert isinstance(decide(POLICY, LIMITS, state, measured), Verdict)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(FIELDS), naive_texts())
def test_naive_times_are_refused_at_their_position(where: tuple[str, str], text: str) -> None:
    path, field = where
    document = _with(path, field, text)
    zone, errors = load(path, document)
    assert zone is None
    line_no, line = next((i, ln) for i, ln in enumerate(document.splitlines(), 1) if text in ln and field in ln)
    naive = [e for e in errors if e.code == "schema.naive-timestamp"]
    assert [(e.file, e.line, e.column) for e in naive] == [(path, line_no, line.index(text) + 1)], errors
    assert "has no time zone" in naive[0].message


def test_an_unquoted_yaml_timestamp_is_held_as_text_and_judged_like_a_quoted_one() -> None:
    quoted, _ = load(ZONE, _with(ZONE, "startedAt", '"2026-11-27 09:00:00+01:00"'))
    unquoted, _ = load(ZONE, _with(ZONE, "startedAt", "2026-11-27 09:00:00+01:00"))
    assert quoted is not None
    assert quoted == unquoted
    _, errors = load(ZONE, _with(ZONE, "startedAt", "2026-11-27 09:00:00"))
    assert [e.code for e in errors] == ["schema.naive-timestamp"]


@pytest.mark.parametrize(
    "naive", [datetime(2026, 11, 27, 9), datetime.combine(date(2026, 11, 27), datetime.min.time())]
)
def test_nothing_downstream_accepts_a_naive_datetime(naive: datetime) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        set_step(
            ZONE,
            TEMPLATE[ZONE].decode(),
            "fraud-scoring",
            expect=CanaryStep("1.1.0", "live", 10),
            phase="live",
            weight=25,
            started=naive,
        )
    aware = datetime(2026, 11, 27, 9, tzinfo=UTC)
    for field in ("started_at", "now", "step_started_at"):
        times = {"started_at": aware, "now": aware, "step_started_at": aware, field: naive}
        with pytest.raises(ValueError, match=f"CanaryState.{field} must be timezone-aware"):
            CanaryState(
                "fraud-scoring",
                "1.1.0",
                "1.0.0",
                ("ams-01",),
                "live",
                10,
                started_at=times["started_at"],
                now=times["now"],
                step_started_at=times["step_started_at"],
            )
