"""A rendered Kubernetes object as an immutable value, and the deterministic ways to print and hash one.

The object body is kept as canonical JSON (sorted keys, no whitespace): equal objects give equal bytes, the
value is hashable and cannot be mutated by a caller; `obj()` gives a fresh dict each time.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import yaml

from reconciler.core.render.labels import CONTENT_HASH, REVISION


class Stage(IntEnum):
    """Apply order: everything of a stage is applied (and waited for) before the next stage starts; pruning
    runs the other way round."""

    FOUNDATION = 0  # Namespaces, CRD-backed kinds, ServiceAccounts and RBAC
    CONFIG = 1  # ConfigMaps
    WORKLOAD = 2  # Deployments or StatefulSets, Services, PodDisruptionBudgets


@dataclass(frozen=True, order=True)
class ObjectRef:
    """What identifies an object in a cluster (and in our inventory)."""

    api_version: str
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind}/{self.namespace}/{self.name}" if self.namespace else f"{self.kind}/{self.name}"

    def to_json(self) -> dict[str, str]:
        return {"apiVersion": self.api_version, "kind": self.kind, "namespace": self.namespace, "name": self.name}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ObjectRef:
        return cls(str(data["apiVersion"]), str(data["kind"]), str(data.get("namespace") or ""), str(data["name"]))


@dataclass(frozen=True)
class Manifest:
    ref: ObjectRef
    stage: Stage
    body: str  # canonical JSON of the whole object

    def obj(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.body)
        return loaded

    @property
    def content_hash(self) -> str:
        return str(self.obj()["metadata"]["annotations"][CONTENT_HASH])

    def to_yaml(self) -> str:
        return to_yaml(self.obj())


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(obj: dict[str, Any]) -> str:
    """sha256 over the object without its revision and hash annotations: a new commit that leaves an object's
    content alone leaves its hash (and so the live object) alone."""
    meta = dict(obj.get("metadata", {}))
    annotations = {k: v for k, v in meta.get("annotations", {}).items() if k not in (REVISION, CONTENT_HASH)}
    meta["annotations"] = annotations
    digest = hashlib.sha256(canonical_json({**obj, "metadata": meta}).encode()).hexdigest()
    return f"sha256:{digest[:32]}"


def make_manifest(obj: dict[str, Any], stage: Stage, revision: str) -> Manifest:
    """Seal an object: stamp the revision and content-hash annotations and freeze it."""
    meta = obj["metadata"]
    annotations = dict(meta.get("annotations", {}))
    annotations[CONTENT_HASH] = content_hash(obj)
    annotations[REVISION] = revision
    sealed = {**obj, "metadata": {**meta, "annotations": annotations}}
    ref = ObjectRef(obj["apiVersion"], obj["kind"], meta.get("namespace", ""), meta["name"])
    return Manifest(ref=ref, stage=stage, body=canonical_json(sealed))


# libyaml's emitter when PyYAML was built with it (about ten times faster); the output is the same.
_BaseDumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper(_BaseDumper):  # type: ignore[valid-type,misc]
    """Block style for multi-line strings (runtime.json, Helm values) so diffs show lines, not escapes."""


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str_representer)


def to_yaml(obj: Any) -> str:
    """Deterministic YAML: sorted keys, block style, YAML 1.1-safe quoting (so 'yes'/'on' stay strings for
    every Kubernetes client)."""
    return yaml.dump(obj, Dumper=_Dumper, sort_keys=True, default_flow_style=False, allow_unicode=True, width=4096)
