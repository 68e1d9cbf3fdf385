"""One YAML reading: the merge guardrail and the round-trip editor read a zone file exactly as the loader does, so
what the bot approves or writes is what gets applied.

Matrix:
- named scalars whose YAML 1.1 reading (the loader's) and YAML 1.2 reading (ruamel's) differ — `010`, `0o10`,
  `0x1F`, `0b101`, `1_0`, `1:20`, `yes`/`no`/`on`/`off`, `1e3`, `.inf`, dates — in an int, a bool and a string
  field of ams-01 × (parse_zone == the loader's Zone; the guardrail's verdict on a pull request that writes them
  == whether the loader sees a change; step / promote / rollback keep their meaning to the loader);
- generated scalar texts (numbers in every YAML 1.1/1.2 notation, booleans, sexagesimals, dates, words) × the
  same fields × the same three agreements;
- a value ruamel would write back in a notation of its own (`._5` as `.50`, `2026-11-27t09:00` with a `T`, a
  float it cannot write at all) is written as the loader's text, so every edit of a valid file goes through.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.core.canary import (
    CanaryStep,
    ZoneFileError,
    canary_only_problems,
    parse_zone,
    promote,
    rollback,
    set_step,
)
from reconciler.core.load import SourceFile, SourceTree, load_tree
from reconciler.core.spec import Zone
from tests.fixtures.template_repo import REPO_ROOT

pytestmark = pytest.mark.unit

PATH = "zones/eu-west/ams-01.yaml"
AMS = (REPO_ROOT / PATH).read_text(encoding="utf-8")
TEMPLATE: dict[str, bytes] = {
    p.relative_to(REPO_ROOT).as_posix(): p.read_bytes()
    for root in ("fleet", "zones", "models")
    for p in sorted((REPO_ROOT / root).rglob("*.yaml"))
}
AT_10 = CanaryStep("1.1.0", "live", 10)
STEP_AT = datetime(2026, 11, 27, 10, 30, tzinfo=UTC)

# Where a scalar text goes in ams-01: the line as the template writes it, and the line with the text.
FIELDS = {
    # an integer field (with partitions enough for every valid replica count)
    "replicas": ("      replicas: 2\n      partitions: 12 ", "      replicas: {}\n      partitions: 100"),
    "autonomy": ("      autonomy: true ", "      autonomy: {} "),  # a boolean field
    "site": ("    site: amsterdam\n", "    site: {}\n"),  # a string field (labels)
}


def with_value(field: str, text: str) -> str:
    written, template = FIELDS[field]
    assert written in AMS
    return AMS.replace(written, template.format(text))


def loader_zone(text: str) -> Zone | None:
    """What `edgeops validate` / apply make of the fleet with this ams-01: its Zone, or None when rejected."""
    files = {**TEMPLATE, PATH: text.encode("utf-8")}
    result = load_tree(SourceTree(files=tuple(SourceFile(k, v) for k, v in sorted(files.items()))))
    if result.spec is None:
        return None
    return next(z for z in result.spec.zones if z.name == "ams-01")


def guard_zone(text: str) -> Zone | None:
    try:
        return parse_zone(PATH, text)
    except ZoneFileError:
        return None


NAMED = [
    ("replicas", "010"),  # loader: octal 8 (ruamel: 10)
    ("replicas", "012"),  # loader: 10 (ruamel: 12)
    ("replicas", "0o10"),  # loader: the text '0o10' (ruamel: 8)
    ("replicas", "0x1F"),
    ("replicas", "0b101"),
    ("replicas", "1_0"),  # loader: 10 (ruamel: 10)
    ("replicas", "1:20"),  # loader: sexagesimal 80 (ruamel: the text '1:20')
    ("replicas", "+12"),
    ("replicas", "yes"),
    ("replicas", "1e1"),  # loader: the text '1e1' (ruamel: 10.0)
    ("replicas", ".inf"),
    ("autonomy", "yes"),  # loader: true (ruamel: the text 'yes')
    ("autonomy", "no"),
    ("autonomy", "on"),
    ("autonomy", "off"),
    ("autonomy", "y"),
    ("autonomy", "True"),
    ("site", "0o10"),  # loader: a string (ruamel: 8)
    ("site", "1e3"),
    ("site", "08"),
    ("site", "yes"),
    ("site", "2026-11-27"),  # loader keeps the date's text (ruamel: a date)
    ("site", "2026-11-27 09:00:00"),
]


@pytest.mark.parametrize(("field", "text"), NAMED, ids=[f"{f}={t}" for f, t in NAMED])
def test_the_guardrail_reads_a_zone_as_the_loader_does(field: str, text: str) -> None:
    document = with_value(field, text)
    assert guard_zone(document) == loader_zone(document)


@pytest.mark.parametrize(
    ("field", "base", "head", "canary_only"),
    [
        ("replicas", "10", "010", False),  # 10 → 8 to the loader: a real change
        ("replicas", "8", "010", True),  # 8 → 8: only the spelling changed
        ("replicas", "10", "012", True),
        ("replicas", "8", "0o10", False),  # the loader reads text: the head is not a valid Zone
        ("replicas", "80", "1:20", True),
        ("replicas", "31", "0x1F", True),
        ("replicas", "1000", "1_000", False),  # over the limit of 100: not a valid Zone
        ("autonomy", "true", "yes", True),
        ("autonomy", "true", "no", False),
        ("autonomy", "false", "off", True),
        ("site", "amsterdam", "0o10", False),
        ("site", "'0o10'", "0o10", True),  # quoted or not, the loader reads the same text
        ("site", "'yes'", "yes", False),  # the text 'yes' → the boolean true: not a string label
    ],
)
def test_a_pull_request_is_judged_as_the_loader_sees_it(field: str, base: str, head: str, canary_only: bool) -> None:
    before, after = with_value(field, base), with_value(field, head)
    problems = canary_only_problems({PATH: (before, after)})
    assert (problems == ()) is canary_only, problems
    loaded_before, loaded_after = loader_zone(before), loader_zone(after)
    assert (loaded_before is not None and loaded_before == loaded_after) is canary_only


def test_a_rejected_head_names_the_loaders_position_and_code() -> None:
    problems = canary_only_problems({PATH: (AMS, with_value("replicas", "0o10"))})
    assert len(problems) == 1
    assert f"{PATH}:27:17: error[schema.wrong-type] spec.models[0].replicas" in problems[0]


def test_the_guardrail_reads_bytes_with_the_loaders_encoding_rules() -> None:
    problems = canary_only_problems({PATH: (AMS.encode(), AMS.replace("amsterdam", "amst\xe9rdam").encode("latin-1"))})
    assert len(problems) == 1
    assert "yaml.encoding" in problems[0]


EDITS = {
    "step": lambda text: set_step(PATH, text, "fraud-scoring", expect=AT_10, phase="live", weight=25, started=STEP_AT),
    "promote": lambda text: promote(PATH, text, "fraud-scoring", expect=AT_10),
    "rollback": lambda text: rollback(PATH, text, "fraud-scoring", expect=AT_10),
}


def _without_canary(zone: Zone) -> dict[str, object]:
    data = zone.model_dump(mode="json")
    for assignment in data["spec"]["models"]:
        assignment.pop("canary", None)
        assignment.pop("version", None)
    return data


def assert_edit_keeps_meaning(document: str, edit: str, after_text: str | None = None) -> None:
    before = loader_zone(document)
    assert before is not None
    after_text = EDITS[edit](document) if after_text is None else after_text
    after = loader_zone(after_text)
    assert after is not None, "an edit the editor returns is valid to the loader"
    assert _without_canary(after) == _without_canary(before), "values the edit did not touch mean the same"
    canary, stable = after.spec.models[0].canary, after.spec.models[0].version
    if edit == "step":
        assert canary is not None
        assert (canary.weight, canary.step_started) == (25, STEP_AT)
    else:
        assert canary is None
        assert stable == ("1.1.0" if edit == "promote" else "1.0.0")
    assert canary_only_problems({PATH: (document, after_text)}) == ()


VALID_NAMED = [(f, t) for f, t in NAMED if loader_zone(with_value(f, t)) is not None]


@pytest.mark.parametrize("edit", sorted(EDITS))
@pytest.mark.parametrize(("field", "text"), VALID_NAMED, ids=[f"{f}={t}" for f, t in VALID_NAMED])
def test_canary_edits_keep_every_other_value_meaning_the_same(field: str, text: str, edit: str) -> None:
    assert_edit_keeps_meaning(with_value(field, text), edit)


def test_the_named_values_that_load_cover_every_kind_of_disagreement() -> None:
    assert {f for f, _ in VALID_NAMED} == set(FIELDS)
    assert len(VALID_NAMED) >= 15


@pytest.mark.parametrize(
    "text", ["._5", "09_9", "+090", "-0.E0", "0o_", "0o__7", "2026-11-27t09:00:00", "2026-11-27T09:00:00.5+01:00"]
)
def test_a_value_ruamel_would_write_in_its_own_notation_is_written_as_the_loader_reads_it(text: str) -> None:
    # ruamel reads these as a number or a time and would write them back as '.50', '0_9_9', '90', a crash, or
    # with a 'T' / six decimals — another text to the loader. The edit writes the loader's text instead (quoted),
    # so even a rollback goes through and the label still means what it meant.
    document = with_value("site", text)
    after = EDITS["rollback"](document)
    assert f"    site: '{text}'\n" in after
    assert_edit_keeps_meaning(document, "rollback", after)


# Scalar texts in every notation the two YAML versions disagree on, plus ordinary ones.
number = st.from_regex(
    r"[-+]?(0|[1-9][0-9_]{0,3}|0[0-9_]{1,4}|0o[0-7_]{1,4}|0x[0-9a-fA-F_]{1,3}|0b[01_]{1,5}|[1-9][0-9]?(:[0-5]?[0-9]){1,2})",
    fullmatch=True,
)
real = st.from_regex(
    r"[-+]?([0-9][0-9_]*)?\.[0-9_]*([eE][-+]?[0-9]{1,2})?|[-+]?[0-9]+[eE][-+]?[0-9]{1,2}", fullmatch=True
)
word = st.sampled_from(
    [
        *("yes", "Yes", "YES", "no", "No", "on", "On", "off", "OFF", "y", "n", "true", "False", "null", "~"),
        *(".inf", "-.Inf", ".nan", "2026-11-27", "2026-11-27 09:00:00", "2026-11-27T09:00:00Z"),
        *("amsterdam", "1.0.0", "0o", "0x"),
    ]
)
scalar = st.one_of(number, real, word)
field = st.sampled_from(sorted(FIELDS))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(field, scalar)
def test_generated_scalars_read_the_same_for_the_guardrail_and_the_loader(where: str, text: str) -> None:
    document = with_value(where, text)
    assert guard_zone(document) == loader_zone(document)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(field, scalar, scalar)
def test_generated_changes_are_judged_as_the_loader_sees_them(where: str, base: str, head: str) -> None:
    before, after = with_value(where, base), with_value(where, head)
    loaded_before, loaded_after = loader_zone(before), loader_zone(after)
    same_to_the_loader = loaded_before is not None and loaded_before == loaded_after
    assert (canary_only_problems({PATH: (before, after)}) == ()) is same_to_the_loader


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(field, scalar, st.sampled_from(sorted(EDITS)))
def test_generated_files_edited_keep_their_meaning(where: str, text: str, edit: str) -> None:
    document = with_value(where, text)
    if loader_zone(document) is None:
        with pytest.raises(ZoneFileError, match=rf"{PATH}:\d+:\d+: error\["):
            EDITS[edit](document)
        return
    assert_edit_keeps_meaning(document, edit)
