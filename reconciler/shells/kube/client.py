"""One zone's API server, through the `kubernetes` client's transport (TLS, kubeconfig auth) with requests
built here: server-side apply (field manager `edgeops`), dry-run apply, get, list by label, delete, create and
replace (for Leases). Every failure is one of this package's errors, chaining the client's exception."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from reconciler.shells.kube.errors import KubeConfigError, KubeError, NotFound, Unreachable, error_for_status
from reconciler.shells.kube.resources import KNOWN, Resource

FIELD_MANAGER = "edgeops"
_APPLY = "application/apply-patch+yaml"


class ZoneClient:
    """Synchronous; one per zone. Callers run it in a worker thread when zones are reconciled concurrently."""

    def __init__(self, api_client: Any, zone: str, timeout_s: float = 20.0) -> None:
        self._api = api_client
        self.zone = zone
        self._timeout = (min(5.0, timeout_s), timeout_s)
        self._discovered: dict[tuple[str, str], Resource] = {}

    @classmethod
    def connect(
        cls, zone: str, context: str | None, kubeconfig: Path | None = None, timeout_s: float = 20.0
    ) -> ZoneClient:
        """Client for `context` (None: the current context) of `kubeconfig` (default: $KUBECONFIG, then
        ~/.kube/config). No request is sent."""
        from kubernetes import client, config
        from kubernetes.config.config_exception import ConfigException

        configuration = client.Configuration()
        try:
            config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=str(kubeconfig) if kubeconfig else None, context=context, client_configuration=configuration
            )
        except (ConfigException, OSError, ValueError, TypeError) as error:
            where = kubeconfig or "$KUBECONFIG / ~/.kube/config"
            raise KubeConfigError(f"zone {zone}: cannot use context {context!r} of {where}: {error}") from error
        # One try per request: the reconciler has its own backoff, and urllib3's retries would hide an outage
        # behind several connect timeouts.
        configuration.retries = False
        return cls(client.ApiClient(configuration), zone, timeout_s)

    def close(self) -> None:
        self._api.close()

    # ------------------------------------------------------------------ objects

    def apply(self, obj: dict[str, Any], *, dry_run: bool = False, force: bool = False) -> dict[str, Any]:
        """Server-side apply as `edgeops`. Dry run returns what the server would store (defaults, other managers'
        fields merged) without storing it. `force` takes over fields other managers own (used with --adopt)."""
        meta = obj["metadata"]
        resource = self.resource(obj["apiVersion"], obj["kind"])
        query: dict[str, str] = {"fieldManager": FIELD_MANAGER}
        if force:
            query["force"] = "true"
        if dry_run:
            query["dryRun"] = "All"
        path = resource.object_path(meta.get("namespace", ""), meta["name"])
        return self._request("PATCH", path, query, json.dumps(obj), _APPLY)

    def get(self, api_version: str, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        """The object, or None when it does not exist."""
        try:
            return self._request("GET", self.resource(api_version, kind).object_path(namespace, name))
        except NotFound:
            return None

    def list(self, api_version: str, kind: str, namespace: str = "", label_selector: str = "") -> list[dict[str, Any]]:
        query = {"labelSelector": label_selector} if label_selector else {}
        listed = self._request("GET", self.resource(api_version, kind).collection_path(namespace), query)
        items: list[dict[str, Any]] = listed.get("items", [])
        for item in items:  # list items carry no kind/apiVersion; put them back for callers
            item.setdefault("apiVersion", api_version)
            item.setdefault("kind", kind)
        return items

    def delete(self, api_version: str, kind: str, namespace: str, name: str, *, uid: str | None = None) -> bool:
        """Delete (background propagation); False when it was already gone. With `uid`, only that object: one
        recreated under the same name since it was read is refused by the server (Conflict), not deleted."""
        body: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"}
        if uid is not None:
            body["preconditions"] = {"uid": uid}
        try:
            self._request("DELETE", self.resource(api_version, kind).object_path(namespace, name), body=body)
        except NotFound:
            return False
        return True

    def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        resource = self.resource(obj["apiVersion"], obj["kind"])
        path = resource.collection_path(obj["metadata"].get("namespace", ""))
        return self._request("POST", path, {"fieldManager": FIELD_MANAGER}, obj)

    def replace(self, obj: dict[str, Any]) -> dict[str, Any]:
        """PUT with the object's resourceVersion: Conflict when someone else wrote it in between."""
        meta = obj["metadata"]
        path = self.resource(obj["apiVersion"], obj["kind"]).object_path(meta.get("namespace", ""), meta["name"])
        return self._request("PUT", path, {"fieldManager": FIELD_MANAGER}, obj)

    def server_version(self) -> str:
        """A cheap request that proves the zone answers."""
        return str(self._request("GET", "/version").get("gitVersion", ""))

    # ------------------------------------------------------------------ plumbing

    def resource(self, api_version: str, kind: str) -> Resource:
        key = (api_version, kind)
        found = KNOWN.get(key) or self._discovered.get(key)
        if found is not None:
            return found
        base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
        for entry in self._request("GET", base).get("resources", []):
            if entry.get("kind") == kind and "/" not in entry.get("name", ""):
                found = Resource(api_version, kind, entry["name"], bool(entry.get("namespaced")))
                self._discovered[key] = found
                return found
        raise NotFound(f"zone {self.zone}: the API has no kind {kind} in {api_version} (is its CRD installed?)", 404)

    def _request(
        self,
        method: str,
        path: str,
        query: dict[str, str] | None = None,
        body: str | dict[str, Any] | None = None,
        content_type: str = "application/json",
    ) -> dict[str, Any]:
        """`body`: a dict for JSON requests (the transport encodes it), a str sent as is (apply patches)."""
        url_path = quote(path) + (f"?{urlencode(query)}" if query else "")
        headers = {"Accept": "application/json", "Content-Type": content_type}
        try:
            _, url, headers, _, _ = self._api.param_serialize(
                method, url_path, header_params=headers, auth_settings=["BearerToken"]
            )
            response = self._api.call_api(method, url, header_params=headers, body=body, _request_timeout=self._timeout)
            data = response.read()
        except Exception as error:  # urllib3 and the client raise many types; all mean no usable answer
            raise self._transport_error(method, path, error) from error
        if response.status >= 400:
            raise self._status_error(method, path, response.status, data)
        try:
            parsed: dict[str, Any] = json.loads(data) if data else {}
        except ValueError as error:
            raise KubeError(f"zone {self.zone}: {method} {path}: reply is not JSON", response.status) from error
        return parsed

    def _transport_error(self, method: str, path: str, error: Exception) -> KubeError:
        from kubernetes.client.exceptions import ApiException

        if isinstance(error, ApiException) and error.status:
            return error_for_status(int(error.status), f"zone {self.zone}: {method} {path}: {error.reason}")
        return Unreachable(f"zone {self.zone}: {method} {path}: no answer ({type(error).__name__}: {error})")

    def _status_error(self, method: str, path: str, status: int, data: bytes) -> KubeError:
        reason, message = "", data.decode("utf-8", "replace")[:500]
        try:
            reply = json.loads(data)
            reason, message = str(reply.get("reason", "")), str(reply.get("message", message))
        except ValueError:
            pass
        return error_for_status(status, f"zone {self.zone}: {method} {path}: {status} {reason}: {message}", reason)
