"""Each zone's nats-server follows the NATS config the region reconciler applied, as the NATS chart's config
reloader does in a zone: the reconciler writes the zone's `HelmChart/nats` (its values carry the accounts, users
and the weighted subject mappings that split traffic between stable and canary), annotated with the git revision
it was rendered from. When that revision changes, the sandbox renders the server config of that revision for its
loopback server (`server_config`, the function the chart's values come from) and reloads the server (SIGHUP).

So a canary's weight reaches the zone only when the reconciler has applied it, never straight from git.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.app.desired import load_desired
from reconciler.app.reconcile import context_for
from reconciler.core.nats import ServerSettings, render_conf, server_config
from reconciler.core.spec import Zone
from reconciler.sandbox.localkube import LocalKube

log = logging.getLogger("edgeops.sandbox")

NATS_CHART = "nats"
REVISION_ANNOTATION = "edgeops.io/revision"
FOLLOW_S = 2.0


@dataclass
class ZoneServer:
    zone: Zone
    settings: ServerSettings
    conf: Path  # the file the server was started with (`nats-server -c`)
    pid: int
    revision: str | None = None  # the revision the conf was last rendered from (None: the template at start)


@dataclass
class NatsFollower:
    kube: LocalKube
    remote: Path  # the fleet's bare repository
    region: str
    hub_leaf_url: str  # the loopback hub's leafnode URL (replaces the fleet's hub URL)
    namespace: str
    servers: list[ZoneServer] = field(default_factory=list)

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            for server in self.servers:
                try:
                    self.follow(server)
                except Exception:  # one zone's failure never stops the others; the next round tries again
                    log.exception("cannot follow the NATS config of zone %s", server.zone.name)
            stop.wait(FOLLOW_S)

    def follow(self, server: ZoneServer) -> bool:
        """Render and reload `server` when its zone's HelmChart names a revision it does not run yet; True when
        it reloaded."""
        api = self.kube.zone(context_for(server.zone)).admin_api()
        reply = api.request("GET", f"/apis/helm.cattle.io/v1/namespaces/{self.namespace}/helmcharts/{NATS_CHART}")
        if reply.status != 200:
            return False
        revision = reply.json().get("metadata", {}).get("annotations", {}).get(REVISION_ANNOTATION)
        if not revision or revision == server.revision:
            return False
        spec = load_desired(self.remote, revision).spec
        zone = spec.zone(server.zone.name) if spec is not None else None
        if spec is None or zone is None:
            return False
        config = server_config(spec.with_region_hub(self.region, self.hub_leaf_url), zone, server.settings)
        text = render_conf(config)
        if text != server.conf.read_text(encoding="utf-8"):
            partial = server.conf.with_suffix(".tmp")
            partial.write_text(text, encoding="utf-8")
            os.replace(partial, server.conf)
            with suppress(ProcessLookupError):
                os.kill(server.pid, signal.SIGHUP)
            log.info("zone %s: nats-server reloaded with the config of %s", server.zone.name, revision[:12])
        server.revision = revision
        return True
