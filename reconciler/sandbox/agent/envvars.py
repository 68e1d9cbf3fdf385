"""A container's environment as a kubelet resolves it: `env` entries in order (literal values with `$(VAR)`
references to earlier ones, `configMapKeyRef`, `secretKeyRef`, a few `fieldRef`s) over `envFrom` sources.

A missing ConfigMap, Secret or key that is not `optional` is the kubelet's `CreateContainerConfigError`: the
container is not started and the message says what is missing, in the kubelet's words.

Pure: ConfigMaps and Secrets come through an `ObjectSource` (the agent reads them from the apiserver).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Protocol

_REFERENCE = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_.\-]*)\)|\$\$")


class ContainerConfigError(Exception):
    """The container cannot be configured: `reason` is the kubelet's waiting reason, the message says why."""

    def __init__(self, message: str, reason: str = "CreateContainerConfigError") -> None:
        super().__init__(message)
        self.reason = reason


class ObjectSource(Protocol):
    """ConfigMaps' data and Secrets' decoded data of a namespace; None when the object does not exist."""

    def config_map(self, namespace: str, name: str) -> Mapping[str, str] | None: ...

    def secret(self, namespace: str, name: str) -> Mapping[str, str] | None: ...


def expand(text: str, env: Mapping[str, str]) -> str:
    """Kubernetes' `$(VAR)` expansion: a defined variable is replaced, an undefined reference is kept as written,
    `$$` is one `$`."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        return env.get(match.group(1), match.group(0))

    return _REFERENCE.sub(replace, text)


def resolve_env(
    container: Mapping[str, Any], pod: Mapping[str, Any], objects: ObjectSource, *, extra: Mapping[str, str] = {}
) -> dict[str, str]:
    """The variables the container's process gets (`extra` first: later entries may refer to them)."""
    meta = pod.get("metadata", {})
    namespace = str(meta.get("namespace", "default"))
    env: dict[str, str] = dict(extra)
    for source in container.get("envFrom") or []:
        env.update(_env_from(source, namespace, objects))
    for entry in container.get("env") or []:
        name = str(entry["name"])
        if "valueFrom" in entry:
            value = _value_from(name, entry["valueFrom"], pod, namespace, objects)
            if value is None:
                continue  # an optional reference to something missing: the variable is not set
            env[name] = value
        else:
            env[name] = expand(str(entry.get("value", "")), env)
    return env


def _env_from(source: Mapping[str, Any], namespace: str, objects: ObjectSource) -> dict[str, str]:
    prefix = str(source.get("prefix", ""))
    if "configMapRef" in source:
        ref, kind = source["configMapRef"], "configmap"
        data = objects.config_map(namespace, ref["name"])
    elif "secretRef" in source:
        ref, kind = source["secretRef"], "secret"
        data = objects.secret(namespace, ref["name"])
    else:
        raise ContainerConfigError(f"envFrom entry {dict(source)} names neither a configMapRef nor a secretRef")
    if data is None:
        if ref.get("optional"):
            return {}
        raise ContainerConfigError(f'{kind} "{ref["name"]}" not found')
    return {f"{prefix}{key}": value for key, value in data.items()}


def _value_from(
    name: str, source: Mapping[str, Any], pod: Mapping[str, Any], namespace: str, objects: ObjectSource
) -> str | None:
    if "secretKeyRef" in source:
        return _key_ref(
            name, source["secretKeyRef"], "Secret", objects.secret(namespace, source["secretKeyRef"]["name"]), namespace
        )
    if "configMapKeyRef" in source:
        ref = source["configMapKeyRef"]
        return _key_ref(name, ref, "ConfigMap", objects.config_map(namespace, ref["name"]), namespace)
    if "fieldRef" in source:
        return _field(name, str(source["fieldRef"]["fieldPath"]), pod)
    raise ContainerConfigError(f"env {name}: valueFrom {sorted(source)} is not supported by the sandbox agent")


def _key_ref(
    name: str, ref: Mapping[str, Any], kind: str, data: Mapping[str, str] | None, namespace: str
) -> str | None:
    optional = bool(ref.get("optional", False))
    if data is None:
        if optional:
            return None
        raise ContainerConfigError(f'{kind.lower()} "{ref["name"]}" not found (env {name})')
    key = str(ref["key"])
    if key not in data:
        if optional:
            return None
        raise ContainerConfigError(f"couldn't find key {key} in {kind} {namespace}/{ref['name']} (env {name})")
    return data[key]


def _field(name: str, path: str, pod: Mapping[str, Any]) -> str:
    meta, spec = pod.get("metadata", {}), pod.get("spec", {})
    fields = {
        "metadata.name": meta.get("name"),
        "metadata.namespace": meta.get("namespace"),
        "metadata.uid": meta.get("uid"),
        "spec.nodeName": spec.get("nodeName"),
        "spec.serviceAccountName": spec.get("serviceAccountName"),
        # Every process of the sandbox listens on loopback.
        "status.podIP": "127.0.0.1",
        "status.hostIP": "127.0.0.1",
    }
    label = re.fullmatch(r"metadata\.(labels|annotations)\['([^']+)'\]", path)
    if label is not None:
        return str((meta.get(label.group(1)) or {}).get(label.group(2), ""))
    if path not in fields:
        raise ContainerConfigError(f"env {name}: fieldRef {path} is not supported by the sandbox agent")
    return str(fields[path] or "")
