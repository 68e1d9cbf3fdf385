"""Nudge subjects and message bodies: a region's subject and the all-regions one; a body round-trips; any bytes
at all (generated, and named garbage: not UTF-8, not JSON, JSON of another shape, fields of the wrong type, deep
nesting, huge fields) read as a nudge without raising, with an unknown sender as `other`."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.core.nats import (
    NUDGE_ALL_SUBJECT,
    Nudge,
    NudgeSource,
    decode_nudge,
    encode_nudge,
    nudge_subject,
    nudge_subjects,
)
from reconciler.core.nats.nudge import MAX_FIELD

pytestmark = pytest.mark.unit


def test_subjects() -> None:
    assert nudge_subject("eu-west") == "edgeops.reconciler.eu-west.nudge"
    assert nudge_subject() == NUDGE_ALL_SUBJECT == "edgeops.reconciler.nudge"
    assert nudge_subjects("eu-west") == ("edgeops.reconciler.eu-west.nudge", "edgeops.reconciler.nudge")


@given(
    st.builds(
        Nudge,
        sha=st.none() | st.text(min_size=1, max_size=MAX_FIELD),
        why=st.none() | st.text(min_size=1, max_size=MAX_FIELD),
        source=st.sampled_from(NudgeSource),
    )
)
def test_a_body_round_trips(nudge: Nudge) -> None:
    assert decode_nudge(encode_nudge(nudge)) == nudge


@given(st.binary(max_size=512))
def test_any_bytes_read_as_a_nudge(data: bytes) -> None:
    assert isinstance(decode_nudge(data), Nudge)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", Nudge()),
        (b"\xff\xfe\x00", Nudge()),
        (b'{"sha": "abc"', Nudge()),
        (b"[1, 2]", Nudge()),
        (b"null", Nudge()),
        (b'"just a string"', Nudge()),
        (b'{"sha": 42, "why": ["x"], "source": {"a": 1}}', Nudge()),
        (b'{"sha": "", "source": "nobody"}', Nudge()),
        (b'{"sha": "abc", "source": "canary"}', Nudge(sha="abc", source=NudgeSource.CANARY)),
        (b"[" * 100_000 + b"]" * 100_000, Nudge()),
    ],
)
def test_garbage_reads_as_a_nudge_that_says_nothing(data: bytes, expected: Nudge) -> None:
    assert decode_nudge(data) == expected


def test_fields_are_cut_short() -> None:
    decoded = decode_nudge(encode_nudge(Nudge(sha="a" * 10_000, why="w" * 10_000)))
    assert decoded.sha == "a" * MAX_FIELD
    assert decoded.why == "w" * MAX_FIELD
