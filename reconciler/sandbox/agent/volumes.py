"""A pod's volumes as directories of its own under `<pod dir>/volumes/<name>`: ConfigMaps and Secrets written out
(and rewritten when they change, as a kubelet refreshes them), emptyDirs created, hostPaths used as they are.

A ConfigMap or Secret that is missing (and not optional) keeps the pod in `ContainerCreating`, as a failed mount
does. Projected volumes (the service-account token volume every pod gets) are written from what exists, never
waited for: the sandbox's zones have no token or root-CA publisher to wait on.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from reconciler.sandbox.agent.envvars import ContainerConfigError, ObjectSource

WAITING_FOR_MOUNT = "ContainerCreating"


def materialize(pod: Mapping[str, Any], pod_dir: Path, objects: ObjectSource) -> dict[str, Path]:
    """Create or refresh every volume of `pod`; volume name → its directory on this machine."""
    namespace = str(pod.get("metadata", {}).get("namespace", "default"))
    found: dict[str, Path] = {}
    for volume in pod.get("spec", {}).get("volumes") or []:
        name = str(volume["name"])
        target = pod_dir / "volumes" / name
        if "hostPath" in volume:
            found[name] = Path(volume["hostPath"]["path"])
            if volume["hostPath"].get("type") == "DirectoryOrCreate":
                found[name].mkdir(parents=True, exist_ok=True)
            continue
        target.mkdir(parents=True, exist_ok=True)
        found[name] = target
        if "configMap" in volume:
            ref = volume["configMap"]
            _write_source(target, "configmap", ref, objects.config_map(namespace, ref["name"]))
        elif "secret" in volume:
            ref = volume["secret"]
            data = objects.secret(namespace, ref["secretName"])
            _write_source(target, "secret", {**ref, "name": ref["secretName"]}, data)
        elif "projected" in volume:
            for source in volume["projected"].get("sources") or []:
                _write_projected(target, source, namespace, objects)
        elif "emptyDir" not in volume:
            kinds = sorted(k for k in volume if k != "name")
            raise ContainerConfigError(
                f"volume {name!r}: {', '.join(kinds)} volumes are not supported by the sandbox agent", WAITING_FOR_MOUNT
            )
    return found


def _write_source(target: Path, kind: str, ref: Mapping[str, Any], data: Mapping[str, str] | None) -> None:
    if data is None:
        if ref.get("optional"):
            return
        raise ContainerConfigError(
            f'MountVolume.SetUp failed for volume: {kind} "{ref["name"]}" not found', WAITING_FOR_MOUNT
        )
    items = ref.get("items")
    chosen = {str(i["key"]): str(i["path"]) for i in items} if items else {key: key for key in data}
    for key, relative in chosen.items():
        if key not in data:
            if ref.get("optional"):
                continue
            raise ContainerConfigError(
                f'MountVolume.SetUp failed for volume: {kind} "{ref["name"]}" has no key {key}', WAITING_FOR_MOUNT
            )
        _write_if_changed(target, relative, data[key])


def _write_projected(target: Path, source: Mapping[str, Any], namespace: str, objects: ObjectSource) -> None:
    if "configMap" in source:
        ref = source["configMap"]
        data = objects.config_map(namespace, ref["name"])
    elif "secret" in source:
        ref = source["secret"]
        data = objects.secret(namespace, ref["name"])
    else:
        return  # serviceAccountToken, downwardAPI: nothing in the sandbox issues or needs them
    if data is not None:
        _write_source(target, "projected", {**ref, "optional": True}, data)


def _write_if_changed(target: Path, relative: str, text: str) -> None:
    parts = PurePosixPath(relative).parts
    if not parts or relative.startswith("/") or ".." in parts:
        raise ContainerConfigError(f"volume item path {relative!r} must be relative without '..'", WAITING_FOR_MOUNT)
    path = target.joinpath(*parts)
    # Secret values arrive decoded with surrogateescape: encoding the same way gives back the exact bytes.
    content = text.encode("utf-8", "surrogateescape")
    try:
        if path.read_bytes() == content:
            return
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.tmp")
    partial.write_bytes(content)
    # Replaced, never rewritten in place: a process reading the file sees the old or the new content, whole.
    os.replace(partial, path)
