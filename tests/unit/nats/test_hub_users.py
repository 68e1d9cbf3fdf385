"""The region hub's users, least privilege for nudges: a client without credentials gets everything but nudges;
the nudger may publish only nudges; the reconciler may hear only its region's and all regions' nudges; passwords
are environment references, never values; the config file names them as variables.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.core.nats import hub_server_config, hub_users, naming, nudge_subject, render_conf

pytestmark = pytest.mark.unit
NUDGES = ["edgeops.reconciler.*.nudge", "edgeops.reconciler.nudge"]


def _users(region: str) -> dict[str, dict[str, object]]:
    return {str(u["user"]): u for u in hub_users(region)}


def test_each_user_may_do_exactly_its_part() -> None:
    users = _users("eu-west")
    assert users["anonymous"]["permissions"] == {"publish": {"deny": NUDGES}, "subscribe": {"deny": NUDGES}}
    assert users["nudger"]["permissions"] == {"publish": {"allow": NUDGES}, "subscribe": {"allow": ["_edgeops.none"]}}
    assert users["reconciler"]["permissions"] == {
        "publish": {"allow": ["_edgeops.none"]},
        "subscribe": {"allow": ["edgeops.reconciler.eu-west.nudge", "edgeops.reconciler.nudge", "_INBOX.>"]},
    }


def test_passwords_come_from_the_environment() -> None:
    users = _users("eu-west")
    assert users["nudger"]["password"] == "<< $EDGEOPS_NATS_HUB_NUDGER_PASSWORD >>"
    assert users["reconciler"]["password"] == "<< $EDGEOPS_NATS_HUB_RECONCILER_PASSWORD >>"
    assert users["anonymous"]["password"] == ""  # the no_auth_user: what a client without credentials is
    text = render_conf(hub_server_config("eu-west"))
    assert 'no_auth_user: "anonymous"' in text
    assert "password: $EDGEOPS_NATS_HUB_NUDGER_PASSWORD" in text
    assert set(naming.HUB_PASSWORD_ENV) == {"nudger", "reconciler"}


@given(st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True))
def test_a_reconciler_hears_its_region_and_no_other(region: str) -> None:
    allowed = _users(region)["reconciler"]["permissions"]["subscribe"]["allow"]  # type: ignore[index]
    assert nudge_subject(region) in allowed
    assert nudge_subject() in allowed
    assert not any(s.startswith("edgeops.reconciler.") and s not in naming.nudge_subjects(region) for s in allowed)
