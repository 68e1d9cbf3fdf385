"""Webhook signature checks (valid, wrong secret, tampered body, missing or malformed header, other algorithms)
and GitHub workflow-command escaping of load problems (no second command can be smuggled in a message)."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from reconciler.app.bot.webhook import make_server, signature_valid
from reconciler.core.bot.annotations import annotation, workflow_commands
from reconciler.core.load import Problem, Severity

pytestmark = pytest.mark.unit

BODY = b'{"action":"opened"}'
GOOD = "sha256=" + hmac.new(b"s3cret", BODY, hashlib.sha256).hexdigest()


@pytest.mark.parametrize(
    ("secret", "body", "header", "valid"),
    [
        (b"s3cret", BODY, GOOD, True),
        (b"other", BODY, GOOD, False),
        (b"s3cret", BODY + b" ", GOOD, False),
        (b"s3cret", BODY, None, False),
        (b"s3cret", BODY, "", False),
        (b"s3cret", BODY, GOOD.replace("sha256=", "sha1="), False),
        (b"s3cret", BODY, GOOD.upper(), False),
    ],
)
def test_signatures(secret: bytes, body: bytes, header: str | None, valid: bool) -> None:
    assert signature_valid(secret, body, header) is valid


def test_a_server_without_a_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="secret is required"):
        make_server(lambda: None, b"")  # type: ignore[arg-type,return-value]


def test_annotations_escape_what_could_end_the_command() -> None:
    problem = Problem("zones/eu,west/a:b.yaml", 27, 17, "yaml.syntax", "bad value\n::error::injected 100%")
    line = annotation(problem)
    assert line == (
        "::error file=zones/eu%2Cwest/a%3Ab.yaml,line=27,col=17,title=yaml.syntax::bad value%0A::error::injected 100%25"
    )
    assert "\n" not in line
    whole_file = Problem("fleet/fleet.yaml", 0, 0, "layout.missing", "missing", Severity.WARNING)
    assert workflow_commands([whole_file]) == "::warning file=fleet/fleet.yaml,title=layout.missing::missing\n"
