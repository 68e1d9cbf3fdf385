"""The requests the agent makes to its zone's apiserver, on the Kubernetes shell's transport (`ZoneClient`: TLS,
kubeconfig auth, the shell's error types): Nodes and their status, the pods bound to a node, pod status and
annotations (JSON merge patches: the agent owns the fields it sends whole), the final delete of a stopped pod,
and the ConfigMaps and Secrets pods read."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reconciler.shells.kube import Conflict, NotFound, ZoneClient

_MERGE = "application/merge-patch+json"
_CONDITION_TAINTS = ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable")


class AgentClient(ZoneClient):
    @classmethod
    def connect(
        cls, zone: str, context: str | None, kubeconfig: Path | None = None, timeout_s: float = 20.0
    ) -> AgentClient:
        client = super().connect(zone, context, kubeconfig, timeout_s)
        assert isinstance(client, AgentClient)
        return client

    def register_node(self, node: dict[str, Any]) -> None:
        """Create the Node; one that exists (an agent restarted) keeps its labels, as a kubelet's does."""
        with contextlib.suppress(Conflict):
            self._request("POST", "/api/v1/nodes", body=node)

    def lift_condition_taints(self, name: str) -> None:
        """Remove the not-ready/unreachable taints the apiserver puts on a new Node: the zones run no node-lifecycle
        controller to lift them once the node reports Ready, so the agent does (other taints stay)."""
        node = self._request("GET", f"/api/v1/nodes/{name}")
        taints = node.get("spec", {}).get("taints") or []
        kept = [t for t in taints if t.get("key") not in _CONDITION_TAINTS]
        if kept != taints:
            body = {"spec": {"taints": kept or None}}
            self._request("PATCH", f"/api/v1/nodes/{name}", body=body, content_type=_MERGE)

    def patch_node_status(self, name: str, status: dict[str, Any]) -> None:
        self._request("PATCH", f"/api/v1/nodes/{name}/status", body={"status": status}, content_type=_MERGE)

    def pods_on(self, node: str) -> list[dict[str, Any]]:
        listed = self._request("GET", "/api/v1/pods", {"fieldSelector": f"spec.nodeName={node}"})
        items: list[dict[str, Any]] = listed.get("items", [])
        return items

    def patch_pod_status(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        path = f"/api/v1/namespaces/{namespace}/pods/{name}/status"
        self._request("PATCH", path, body={"status": status}, content_type=_MERGE)

    def annotate_pod(self, namespace: str, name: str, annotations: Mapping[str, str]) -> None:
        body = {"metadata": {"annotations": dict(annotations)}}
        self._request("PATCH", f"/api/v1/namespaces/{namespace}/pods/{name}", body=body, content_type=_MERGE)

    def finish_pod(self, namespace: str, name: str, uid: str) -> None:
        """Remove a pod whose processes are gone (grace 0, only this incarnation of the name); gone already is fine."""
        body = {"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0, "preconditions": {"uid": uid}}
        with contextlib.suppress(NotFound, Conflict):
            self._request("DELETE", f"/api/v1/namespaces/{namespace}/pods/{name}", body=body)

    # ObjectSource: what env references and volumes read.

    def config_map(self, namespace: str, name: str) -> Mapping[str, str] | None:
        try:
            found = self._request("GET", f"/api/v1/namespaces/{namespace}/configmaps/{name}")
        except NotFound:
            return None
        data = dict(found.get("data") or {})
        data.update({k: _decode(v) for k, v in (found.get("binaryData") or {}).items()})
        return data

    def secret(self, namespace: str, name: str) -> Mapping[str, str] | None:
        try:
            found = self._request("GET", f"/api/v1/namespaces/{namespace}/secrets/{name}")
        except NotFound:
            return None
        return {k: _decode(v) for k, v in (found.get("data") or {}).items()}


def _decode(value: str) -> str:
    # surrogateescape keeps bytes that are not UTF-8 recoverable exactly (volumes write them back as bytes).
    return base64.b64decode(value).decode("utf-8", "surrogateescape")
