"""Values for the official NATS Helm chart (nats-io/k8s `nats`, chart 1.x) that carry a zone's server config.

The chart owns ports, the store volume and server_name; everything else of `server_config` goes through the
chart's `merge` hooks (`config.jetstream.merge` for the domain, `config.merge` for accounts and leafnode remotes).
Passwords come from the Secret `edgeops-nats-users` as environment variables; a leafnode credentials Secret is
mounted read-only where `server.leafnode_credentials_path` says the server will read it.
"""

from __future__ import annotations

from reconciler.core.nats import naming
from reconciler.core.nats.server import (
    LEAFNODE_CREDENTIALS_DIR,
    Config,
    ServerSettings,
    accounts_block,
    leafnodes_block,
)
from reconciler.core.spec import FleetSpec, Zone

USERS_SECRET = "edgeops-nats-users"  # noqa: S105 - a Secret's name, not a password
CHART = "nats"
CHART_REPO = "https://nats-io.github.io/k8s/helm/charts/"
STORE_SIZE = "10Gi"


def _password_env() -> Config:
    return {
        env: {"valueFrom": {"secretKeyRef": {"name": USERS_SECRET, "key": f"{user}-password"}}}
        for user, env in sorted(naming.PASSWORD_ENV.items())
    }


def helm_values(spec: FleetSpec, zone: Zone) -> Config:
    defaults = ServerSettings()
    container: Config = {"env": _password_env()}
    values: Config = {
        "config": {
            "jetstream": {
                "enabled": True,
                "fileStore": {"enabled": True, "pvc": {"enabled": True, "size": STORE_SIZE}},
                "memoryStore": {"enabled": True, "maxSize": defaults.max_memory_store},
                "merge": {"domain": zone.spec.nats.domain},
            },
            "merge": {"accounts": accounts_block(spec, zone), "leafnodes": leafnodes_block(spec, zone)},
        },
        "container": container,
    }
    ref = zone.spec.nats.leafnode.credentials
    if ref is not None and ref.secret is not None:
        secret_name = ref.secret.split("/", 1)[0]
        volume = {"name": "leafnode-credentials", "secret": {"secretName": secret_name}}
        mount = {"name": "leafnode-credentials", "mountPath": LEAFNODE_CREDENTIALS_DIR, "readOnly": True}
        values["podTemplate"] = {"patch": [{"op": "add", "path": "/spec/volumes/-", "value": volume}]}
        container["patch"] = [{"op": "add", "path": "/volumeMounts/-", "value": mount}]
    return values
