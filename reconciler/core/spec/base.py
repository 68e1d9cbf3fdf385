"""Building blocks shared by every document kind: the strict base model, metadata and the scalar types
(durations, NATS subjects, digests, secret references) whose rules are part of the YAML language."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Annotated, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

API_VERSION = "edgeops.io/v1alpha1"


class StrictModel(BaseModel):
    """Every document and sub-document: unknown keys rejected, no type coercion, immutable, camelCase in YAML."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        frozen=True,
        populate_by_name=True,
        alias_generator=lambda name: re.sub(r"_([a-z])", lambda m: m.group(1).upper(), name),
    )


T = TypeVar("T")


def _list_to_tuple(value: object) -> object:
    return tuple(value) if isinstance(value, list) else value


# YAML lists, held as immutable tuples (strict mode alone would refuse a list for a tuple).
Items = Annotated[tuple[T, ...], BeforeValidator(_list_to_tuple)]

# DNS-1123 label: what Kubernetes accepts as a namespace / object name component.
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def _dns_label(value: str) -> str:
    if len(value) > 63 or not _DNS_LABEL.match(value):
        raise ValueError(
            f"{value!r} is not a valid name: use lower-case letters, digits and '-', "
            "starting and ending with a letter or digit, at most 63 characters"
        )
    return value


Name = Annotated[str, AfterValidator(_dns_label)]

_SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")


def _semver(value: str) -> str:
    if not _SEMVER.match(value):
        raise ValueError(f"{value!r} is not a semantic version such as 1.4.0")
    return value


Version = Annotated[str, AfterValidator(_semver)]

_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?$")


def parse_duration(value: object) -> object:
    """'90s', '5m', '1h30m', '250ms' → timedelta. Anything else is left for pydantic to reject."""
    if isinstance(value, timedelta):
        return value
    if not isinstance(value, str):
        raise ValueError("a duration is a string such as '30s', '5m' or '1h30m'")
    match = _DURATION.match(value.strip())
    if not value.strip() or not match or not any(match.groups()):
        raise ValueError(f"{value!r} is not a duration such as '30s', '5m' or '1h30m'")
    hours, minutes, seconds, millis = (int(g) if g else 0 for g in match.groups())
    return timedelta(hours=hours, minutes=minutes, seconds=seconds, milliseconds=millis)


def format_duration(value: timedelta) -> str:
    total_ms = round(value.total_seconds() * 1000)
    hours, rest = divmod(total_ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    parts = [f"{n}{unit}" for n, unit in ((hours, "h"), (minutes, "m"), (seconds, "s"), (millis, "ms")) if n]
    return "".join(parts) or "0s"


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("duration must be greater than zero")
    return value


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    AfterValidator(_positive),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema({"type": "string", "pattern": _DURATION.pattern, "examples": ["30s", "5m", "1h30m"]}),
]

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _iso_text(value: object) -> object:
    """Only ISO 8601 text (or a datetime built in code): pydantic alone would also take 1700000000 as a time."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise PydanticCustomError("datetime_type", "Input should be a valid datetime")
    if not _ISO_DATE.match(value):
        raise PydanticCustomError("datetime_parsing", "Input should be an ISO 8601 date and time")
    return value


# The one type of every point in time in the spec. Time zone required: a naive time means a different instant on
# every machine, and comparing it with an aware one (the clock, Prometheus samples) raises. Written as ISO 8601
# text (quoted or not: the loader keeps YAML timestamps as their text), emitted in UTC with a Z.
Timestamp = Annotated[
    AwareDatetime,
    BeforeValidator(_iso_text),
    Field(strict=False),
    PlainSerializer(lambda v: v.isoformat().replace("+00:00", "Z"), return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "pattern": r"([Zz]|[+-]\d{2}:?\d{2})$",
            "examples": ["2026-11-20T10:00:00Z", "2026-11-20T11:00:00+01:00"],
        }
    ),
]

_SUBJECT_TOKEN = re.compile(r"^[A-Za-z0-9_\-]+$")


def _subject(value: str) -> str:
    """A concrete NATS subject: dot-separated tokens, no wildcards, no whitespace (we publish to it)."""
    tokens = value.split(".")
    if not value or len(value) > 255 or any(not _SUBJECT_TOKEN.match(t) for t in tokens):
        raise ValueError(
            f"{value!r} is not a valid NATS subject: dot-separated tokens of letters, digits, '-' or '_' "
            "(no spaces, no empty tokens, no wildcards '*' or '>')"
        )
    return value


Subject = Annotated[str, AfterValidator(_subject)]

_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


def _digest(value: str) -> str:
    if not _DIGEST.match(value):
        raise ValueError(f"{value!r} is not a sha256 digest: write 'sha256:' followed by 64 lower-case hex digits")
    return value


Digest = Annotated[str, AfterValidator(_digest)]

Percent = Annotated[float, Field(ge=0, le=100)]
Fraction = Annotated[float, Field(ge=0, le=1)]
PositiveMs = Annotated[float, Field(gt=0)]


class Metadata(StrictModel):
    name: Name
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)


class SecretRef(StrictModel):
    """Where a credential comes from at run time. Exactly one of the fields; the value never lives in git."""

    env: Annotated[str, Field(pattern=r"^[A-Z_][A-Z0-9_]*$")] | None = None
    secret: Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?/[-._a-zA-Z0-9]+$")] | None = Field(
        default=None, description="Kubernetes secret as '<secret-name>/<key>' in the zone's namespace"
    )
    file: str | None = Field(default=None, description="path on the node, e.g. a mounted credentials file")

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        if sum(v is not None for v in (self.env, self.secret, self.file)) != 1:
            raise ValueError("a secret reference names exactly one of: env, secret, file")
        return self


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _hhmm(value: str) -> str:
    if not _HHMM.match(value):
        raise ValueError(f"{value!r} is not a time of day such as '02:30'")
    return value


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not an IANA time zone such as 'UTC' or 'Europe/Amsterdam'") from None
    return value


class MaintenanceWindow(StrictModel):
    """A weekly period in which rollouts may start. Rollbacks never wait for a window."""

    name: Name
    days: Items[Weekday] = Field(min_length=1)
    start: Annotated[str, AfterValidator(_hhmm)]
    duration: Duration
    timezone: Annotated[str, AfterValidator(_timezone)] = "UTC"
