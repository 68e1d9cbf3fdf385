"""Reading a running region's real parts for the demo: the forge's REST API, the zones' apiservers, Prometheus and
the zones' nats-servers. Every answer here comes from one of them; the manifest only says where they are.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reconciler.sandbox.region.layout import Layout, read_json
from reconciler.sandbox.region.supervisor import ADMIN_LOGIN, NAME, NAMESPACE, OWNER
from reconciler.shells.kube import ZoneClient

_WORKLOAD_KINDS = ("Deployment", "StatefulSet")  # a zone's model runs as either (partitioned models: StatefulSets)


class PartError(Exception):
    """A part did not answer as expected; the message names it and what it said."""


class ForgeRest:
    """The forge's REST API (GitHub's shape) as a person with a token uses it."""

    def __init__(self, api: str, token: str) -> None:
        self.repo = f"{api.rstrip('/')}/repos/{OWNER}/{NAME}"
        self._token = token

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 - the sandbox's own loopback forge
            self.repo + path,
            data=data,
            method=method,
            headers={"Authorization": f"token {self._token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:  # noqa: S310
                return json.load(reply)
        except urllib.error.HTTPError as error:
            raise PartError(f"forge {method} {path}: {error.code} {error.read().decode(errors='replace')}") from error
        except (OSError, ValueError) as error:
            raise PartError(f"forge {method} {path}: {error}") from error

    def pulls(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.call("GET", "/pulls?state=all&per_page=100")
        return sorted(found, key=lambda p: int(p["number"]))

    def pull(self, number: int) -> dict[str, Any]:
        found: dict[str, Any] = self.call("GET", f"/pulls/{number}")
        return found

    def comments(self, number: int) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.call("GET", f"/issues/{number}/comments")
        return found

    def statuses(self, sha: str) -> dict[str, str]:
        """context → state of the commit's latest statuses."""
        combined = self.call("GET", f"/commits/{sha}/status")
        return {s["context"]: s["state"] for s in combined.get("statuses", [])}


def forge_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


@dataclass(frozen=True)
class Workload:
    """A model track's workload as its zone's apiserver says: Deployment or StatefulSet, and the version its
    pods are configured with (the runtime.json of the ConfigMap its pod template mounts)."""

    kind: str
    name: str
    replicas: int
    ready: int
    updated: int
    current: int  # pods of any revision
    observed: bool  # the controller has seen the newest spec
    version: str | None

    @property
    def converged(self) -> bool:
        return self.observed and self.ready == self.updated == self.current == self.replicas

    def describe(self) -> str:
        return (
            f"{self.kind} {self.name} runs {self.version or 'an unknown version'}: {self.ready}/{self.replicas} "
            f"ready, {self.updated} updated, {self.current} pods{'' if self.observed else ' (spec not observed yet)'}"
        )


@dataclass(frozen=True)
class Region:
    """Where a running region's parts are (from its manifest), and the credentials the demo acts with."""

    layout: Layout
    forge: ForgeRest
    forge_url: str
    prometheus: str
    kubeconfig: Path
    contexts: dict[str, str]  # zone → kubeconfig context
    nats_monitors: dict[str, str]  # zone → nats-server monitoring URL
    remote: Path  # the fleet's bare repository the forge serves

    @classmethod
    def of(cls, layout: Layout) -> Region:
        manifest, keys = read_json(layout.manifest), read_json(layout.secrets)
        if not isinstance(manifest, dict) or not manifest.get("ready") or not isinstance(keys, dict):
            raise PartError(f"no region is up in {layout.root} (`edgeops sandbox up` starts one)")
        return cls(
            layout=layout,
            forge=ForgeRest(manifest["forge"]["api"], keys["forge"][ADMIN_LOGIN]),
            forge_url=manifest["forge"]["url"],
            prometheus=manifest["prometheus"]["url"],
            kubeconfig=Path(manifest["kubeconfig"]),
            contexts={zone: info["context"] for zone, info in manifest["zones"].items()},
            nats_monitors={zone: manifest["nats"][zone]["monitor"] for zone in manifest["zones"]},
            remote=Path(manifest["fleet"]["remote"]),
        )

    def workload(self, zone: str, name: str) -> Workload | None:
        """The zone's workload `name` (Deployment or StatefulSet), None when there is none."""
        client = ZoneClient.connect(zone, self.contexts[zone], self.kubeconfig, timeout_s=10.0)
        try:
            for kind in _WORKLOAD_KINDS:
                found = client.get("apps/v1", kind, NAMESPACE, name)
                if found is not None:
                    return _workload(kind, found, _version(client, found))
            return None
        finally:
            client.close()

    def streams(self, zone: str) -> dict[str, dict[str, Any]]:
        """The zone's JetStream streams (name → state), as its nats-server's monitoring endpoint reports them."""
        url = f"{self.nats_monitors[zone]}/jsz?streams=true"
        try:
            with urllib.request.urlopen(url, timeout=10) as reply:  # noqa: S310 - the sandbox's own loopback server
                info = json.load(reply)
        except (OSError, ValueError) as error:
            raise PartError(f"nats-server {zone} {url}: {error}") from error
        return {
            stream["name"]: stream["state"]
            for account in info.get("account_details", [])
            for stream in account.get("stream_detail", [])
        }


def _workload(kind: str, found: dict[str, Any], version: str | None) -> Workload:
    spec, status, meta = found.get("spec", {}), found.get("status", {}), found.get("metadata", {})
    return Workload(
        kind=kind,
        name=meta.get("name", ""),
        replicas=int(spec.get("replicas", 1)),
        ready=int(status.get("readyReplicas", 0)),
        updated=int(status.get("updatedReplicas", 0)),
        current=int(status.get("replicas", 0)),
        observed=int(status.get("observedGeneration", 0)) >= int(meta.get("generation", 0)),
        version=version,
    )


def _version(client: ZoneClient, workload: dict[str, Any]) -> str | None:
    """The model version in the runtime.json of the ConfigMap the pod template mounts."""
    volumes = workload.get("spec", {}).get("template", {}).get("spec", {}).get("volumes", [])
    for volume in volumes:
        name = (volume.get("configMap") or {}).get("name")
        found = client.get("v1", "ConfigMap", NAMESPACE, name) if name else None
        text = (found or {}).get("data", {}).get("runtime.json")
        if text:
            models = json.loads(text).get("models", [])
            return str(models[0]["version"]) if models else None
    return None
