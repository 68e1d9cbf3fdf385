"""Edge pull, pure parts: artifact refs to blob URLs (host detection, tags/digests stripped, plain HTTP only for
loopback or an explicit http://, bad refs and digests refused) and the UTC pull window (plain, wrapping past
midnight, whole day, none)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from runtime.artifacts import BadReference, in_window, parse_reference
from runtime.config import PullWindowConfig

pytestmark = pytest.mark.unit

DIGEST = "sha256:" + "0f" * 32


@pytest.mark.parametrize(
    ("ref", "url"),
    [
        (
            "registry.eu-west.acme.example/edge-models/fraud-scoring:1.0.0",
            f"https://registry.eu-west.acme.example/v2/edge-models/fraud-scoring/blobs/{DIGEST}",
        ),
        ("127.0.0.1:5000/edge-models/m:1.0.0", f"http://127.0.0.1:5000/v2/edge-models/m/blobs/{DIGEST}"),
        ("localhost:5000/m@sha256:" + "aa" * 32, f"http://localhost:5000/v2/m/blobs/{DIGEST}"),
        ("http://reg.lan:5000/a/b", f"http://reg.lan:5000/v2/a/b/blobs/{DIGEST}"),
        ("https://127.0.0.1:5443/a/b:2", f"https://127.0.0.1:5443/v2/a/b/blobs/{DIGEST}"),
    ],
)
def test_blob_url_from_ref(ref: str, url: str) -> None:
    assert parse_reference(ref, DIGEST).url == url


@pytest.mark.parametrize(
    ("ref", "digest", "message"),
    [
        ("edge-models/fraud-scoring:1.0.0", DIGEST, "names no registry host"),
        ("registry.example/Bad_Repo", DIGEST, "not a valid repository name"),
        ("registry.example/m", "sha256:short", "64 lower-case hex"),
        ("registry.example/m", "md5:" + "0" * 32, "is not 'sha256:'"),
    ],
)
def test_bad_refs_are_refused(ref: str, digest: str, message: str) -> None:
    with pytest.raises(BadReference, match=message):
        parse_reference(ref, digest)


def _at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, 4, hour, minute, tzinfo=UTC)


def test_no_window_means_always() -> None:
    assert in_window(_at(12), None)


def test_plain_window_is_half_open() -> None:
    window = PullWindowConfig(start="01:00", end="05:00")
    assert [in_window(_at(h), window) for h in (0, 1, 4, 5, 12)] == [False, True, True, False, False]


def test_window_wrapping_past_midnight() -> None:
    window = PullWindowConfig(start="22:30", end="02:00")
    assert in_window(_at(23), window)
    assert in_window(_at(1, 59), window)
    assert not in_window(_at(22, 29), window)
    assert not in_window(_at(2), window)


def test_equal_start_and_end_is_the_whole_day() -> None:
    assert in_window(_at(13), PullWindowConfig(start="03:00", end="03:00"))


def test_local_times_are_converted_to_utc() -> None:
    window = PullWindowConfig(start="01:00", end="02:00")
    plus_two = timezone(timedelta(hours=2))
    assert in_window(datetime(2026, 3, 4, 3, 30, tzinfo=plus_two), window)  # 01:30 UTC
