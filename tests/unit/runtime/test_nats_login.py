"""How the runtime logs in to NATS: the config names a user and the environment variable holding its password
(or a token / creds file variable); the secret is read from the environment at start, never from the config.
Matrix: valid combinations, invalid combinations, missing variable, and what the reconciler renders."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from reconciler.app.desired import load_desired
from reconciler.core.nats import naming
from reconciler.core.render import RenderOptions, render_region
from runtime.config import NatsConnectionConfig
from runtime.nats_connection import MissingCredential, nats_credentials
from tests.fixtures.template_repo import REPO_ROOT

pytestmark = pytest.mark.unit
URL = "nats://127.0.0.1:4222"


def test_user_login_reads_the_password_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNTIME_PW", "s3cret-value")
    login = NatsConnectionConfig(url=URL, user="runtime", password_env="RUNTIME_PW")
    assert nats_credentials(login) == {"user": "runtime", "password": "s3cret-value"}
    assert "s3cret-value" not in login.model_dump_json()


def test_missing_variable_is_a_clear_start_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RUNTIME_PW", raising=False)
    with pytest.raises(MissingCredential, match=r"\$RUNTIME_PW, which is not set"):
        nats_credentials(NatsConnectionConfig(url=URL, user="runtime", password_env="RUNTIME_PW"))


def test_no_login_connects_anonymously() -> None:
    assert nats_credentials(NatsConnectionConfig(url=URL)) == {}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"user": "runtime"}, "go together"),
        ({"password_env": "RUNTIME_PW"}, "go together"),
        ({"user": "runtime", "password_env": "RUNTIME_PW", "token_env": "TOKEN"}, "not both user and token_env"),
        ({"password_env": "lower-case", "user": "runtime"}, "password_env"),
    ],
)
def test_invalid_logins_are_refused(fields: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        NatsConnectionConfig(url=URL, **fields)


def test_rendered_runtime_logs_in_as_the_runtime_user_from_the_users_secret() -> None:
    load = load_desired(REPO_ROOT)
    assert load.spec is not None
    zone = next(iter(render_region(load.spec, "eu-west", "r1", RenderOptions(), zone="ams-01")))
    deployments = [m.obj() for m in zone.manifests if m.obj()["kind"] in ("Deployment", "StatefulSet")]
    configs = [
        o for o in (m.obj() for m in zone.manifests) if o["kind"] == "ConfigMap" and "runtime.json" in o.get("data", {})
    ]
    assert deployments
    assert configs
    for config in configs:
        assert '"user":"runtime"' in config["data"]["runtime.json"].replace(" ", "")
        assert naming.PASSWORD_ENV[naming.RUNTIME_USER] in config["data"]["runtime.json"]
    for deployment in deployments:
        env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
        password = next(e for e in env if e["name"] == naming.PASSWORD_ENV[naming.RUNTIME_USER])
        assert password["valueFrom"] == {"secretKeyRef": {"name": "edgeops-nats-users", "key": "runtime-password"}}
        assert "value" not in password
