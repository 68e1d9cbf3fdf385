"""How a container of a Pod becomes a local process: paths, ports, service names and the command.

- **Paths.** Each volume is a directory of the pod's own (`hostPath` volumes are the host path itself); a container
  path under a `mountPath` maps into its volume (`subPath` honoured), any other absolute path into the pod's
  `rootfs/` directory, the container's writable filesystem.
- **Ports.** Every `containerPort` of the pod gets a free loopback port of its own; the pod's annotation
  `sandbox.edgeops.io/host-ports` records the mapping as JSON (`{"9464": 41234}`: containerPort → host port, as in
  a pod all containers share one network namespace), its `status.podIP` is 127.0.0.1. Processes find their ports in
  `EDGEOPS_SANDBOX_PORT_<containerPort>` (and `$(EDGEOPS_SANDBOX_PORT_<n>)` in args).
- **Services.** In-cluster addresses (`nats.edgeops.svc:4222`) map to loopback ones (`127.0.0.1:4222`) by a table
  the agent is given, as cluster DNS and kube-proxy would.
- **Command.** A container of the runtime image (`ghcr.io/edgeops/runtime`, `-gpu`) runs the local `edgeops`; its
  `--config` file is read from the mapped volume and rewritten beside it with local values (`localize_runtime_config`).
  Any other container runs its `command`/`args` as given (paths under mounts mapped); one with neither cannot run.

Pure, apart from `Mounts.to_host` building paths (nothing is created here).
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from reconciler.sandbox.agent.envvars import ContainerConfigError, expand
from runtime import RuntimeConfig

PORTS_ANNOTATION = "sandbox.edgeops.io/host-ports"
PORT_ENV_PREFIX = "EDGEOPS_SANDBOX_PORT_"
RUNTIME_IMAGES = ("ghcr.io/edgeops/runtime", "ghcr.io/edgeops/runtime-gpu")
# The image's entrypoint and default arguments (runtime/Containerfile).
_RUNTIME_ENTRYPOINT = ("edgeops", "serve")
_RUNTIME_DEFAULT_ARGS = ("--config", "/etc/edgeops/runtime.json")
_RUNTIME_DEFAULTS = RuntimeConfig.model_fields


def image_repository(image: str) -> str:
    """`ghcr.io/edgeops/runtime:0.1.0@sha256:…` → `ghcr.io/edgeops/runtime` (a registry port is not a tag)."""
    name = image.split("@", 1)[0]
    head, _, last = name.rpartition("/")
    if ":" in last:
        last = last.split(":", 1)[0]
    return f"{head}/{last}" if head else last


def is_runtime_image(image: str, runtime_images: Sequence[str] = RUNTIME_IMAGES) -> bool:
    return image_repository(image) in runtime_images


def container_ports(pod: Mapping[str, Any]) -> list[int]:
    """Every distinct containerPort of the pod, in order of appearance."""
    found: list[int] = []
    for container in pod.get("spec", {}).get("containers") or []:
        for port in container.get("ports") or []:
            number = int(port["containerPort"])
            if number not in found:
                found.append(number)
    return found


def host_ports(pod: Mapping[str, Any]) -> dict[int, int]:
    """containerPort → loopback port, from the pod's annotation ({} until the agent has started the pod)."""
    raw = (pod.get("metadata", {}).get("annotations") or {}).get(PORTS_ANNOTATION)
    if not raw:
        return {}
    return {int(k): int(v) for k, v in json.loads(raw).items()}


def host_port(pod: Mapping[str, Any], container_port: int) -> int | None:
    """Where the pod's `container_port` listens on 127.0.0.1 (None before the agent started it)."""
    return host_ports(pod).get(container_port)


def ports_annotation(ports: Mapping[int, int]) -> str:
    return json.dumps({str(k): v for k, v in sorted(ports.items())}, separators=(",", ":"))


def port_env(ports: Mapping[int, int]) -> dict[str, str]:
    return {f"{PORT_ENV_PREFIX}{k}": str(v) for k, v in ports.items()}


def resolve_port(container: Mapping[str, Any], port: int | str, ports: Mapping[int, int]) -> int:
    """The host port of a probe's `port` (a number or the name of one of the container's ports)."""
    if isinstance(port, str) and not port.isdigit():
        named = [p for p in container.get("ports") or [] if p.get("name") == port]
        if not named:
            raise ContainerConfigError(f"container {container['name']}: no port named {port!r}", "CreateContainerError")
        port = int(named[0]["containerPort"])
    number = int(port)
    if number not in ports:
        raise ContainerConfigError(
            f"container {container['name']}: port {number} is not a declared containerPort", "CreateContainerError"
        )
    return ports[number]


@dataclass(frozen=True)
class Mounts:
    """A container's view of the filesystem: (mountPath, host path) pairs over the pod's `rootfs`."""

    entries: tuple[tuple[str, Path], ...]
    rootfs: Path

    @classmethod
    def for_container(cls, container: Mapping[str, Any], volumes: Mapping[str, Path], rootfs: Path) -> Mounts:
        entries = []
        for mount in container.get("volumeMounts") or []:
            name = mount["name"]
            if name not in volumes:
                raise ContainerConfigError(
                    f"container {container['name']}: volume {name!r} is mounted but not declared",
                    "CreateContainerError",
                )
            sub = str(mount.get("subPath") or "")
            if sub.startswith("/") or ".." in PurePosixPath(sub).parts:
                raise ContainerConfigError(
                    f"container {container['name']}: subPath {sub!r} must be a relative path without '..'",
                    "CreateContainerConfigError",
                )
            path = volumes[name] / sub if sub else volumes[name]
            entries.append((_clean(mount["mountPath"]), path))
        # Longest mount path first: a mount inside another one wins for the paths under it.
        entries.sort(key=lambda entry: len(entry[0]), reverse=True)
        return cls(tuple(entries), rootfs)

    def to_host(self, path: str) -> Path:
        """Where the container path `path` (absolute) is on this machine."""
        clean = _clean(path)
        for mount_path, host in self.entries:
            if clean == mount_path:
                return host
            if mount_path == "/" or clean.startswith(mount_path + "/"):
                return host / clean[len(mount_path) :].lstrip("/")
        return self.rootfs / clean.lstrip("/")

    def map_arg(self, arg: str) -> str:
        """An argument that is a path under a mount becomes the host path; anything else stays."""
        if not arg.startswith("/") or not any(_under(_clean(arg), m) for m, _ in self.entries):
            return arg
        return str(self.to_host(arg))


def map_service(address: str, services: Mapping[str, str]) -> str:
    """`host:port` through the service table (unchanged when absent)."""
    return services.get(address, address)


def _map_url(url: str, services: Mapping[str, str]) -> str:
    scheme, sep, rest = url.partition("://")
    if not sep:
        return map_service(url, services)
    address, slash, path = rest.partition("/")
    return f"{scheme}://{map_service(address, services)}{slash}{path}"


def _map_ref(ref: str, services: Mapping[str, str]) -> str:
    """An artifact ref's registry host through the service table (`[scheme://]host/repo:tag`)."""
    scheme, sep, rest = ref.rpartition("://")
    host, slash, tail = rest.partition("/")
    mapped = map_service(host, services)
    return f"{scheme}{sep}{mapped}{slash}{tail}"


def localize_runtime_config(text: str, *, ports: Mapping[int, int], mounts: Mounts, services: Mapping[str, str]) -> str:
    """runtime.json with local values: metrics on its mapped loopback port, its directories under the pod's,
    the NATS server and the registry through the service table.

    Text that is not a JSON object is returned unchanged: the runtime reports it (exit 2) as it would in a pod.
    """
    try:
        doc = json.loads(text)
    except ValueError:
        return text
    if not isinstance(doc, dict):
        return text
    metrics_port = int(doc.get("metrics_port", _RUNTIME_DEFAULTS["metrics_port"].default))
    if metrics_port not in ports:
        raise ContainerConfigError(
            f"runtime.json metrics_port {metrics_port} is not a containerPort of the pod: nothing maps it",
            "CreateContainerError",
        )
    doc["metrics_port"] = ports[metrics_port]
    doc["metrics_host"] = "127.0.0.1"
    doc["model_dir"] = str(mounts.to_host(str(doc.get("model_dir", _RUNTIME_DEFAULTS["model_dir"].default))))
    store = dict(doc.get("feature_store") or {})
    default_store = _RUNTIME_DEFAULTS["feature_store"].default
    store["path"] = str(mounts.to_host(str(store.get("path", default_store.path))))
    doc["feature_store"] = store
    if isinstance(doc.get("nats"), dict) and "url" in doc["nats"]:
        doc["nats"] = {**doc["nats"], "url": _map_url(str(doc["nats"]["url"]), services)}
    models = []
    for model in doc.get("models") or []:
        if isinstance(model, dict) and isinstance(model.get("artifact"), dict):
            artifact = dict(model["artifact"])
            if "ref" in artifact:
                artifact["ref"] = _map_ref(str(artifact["ref"]), services)
            if artifact.get("local_path"):
                artifact["local_path"] = str(mounts.to_host(str(artifact["local_path"])))
            models.append({**model, "artifact": artifact})
        else:
            models.append(model)
    if "models" in doc:
        doc["models"] = models
    return json.dumps(doc, indent=2) + "\n"


@dataclass(frozen=True)
class Launch:
    """What to run for a container: `argv`, and for a runtime container the container path of its config
    (`runtime_config`, read from the mounts and localized by the agent to `argv[config_index]`)."""

    argv: tuple[str, ...]
    runtime_config: str | None = None
    config_index: int | None = None


def launch(
    container: Mapping[str, Any],
    env: Mapping[str, str],
    mounts: Mounts,
    *,
    edgeops: Sequence[str],
    runtime_images: Sequence[str] = RUNTIME_IMAGES,
) -> Launch:
    """The argv for `container` (with `$(VAR)` expanded from `env`); `edgeops` is how to run the local CLI."""
    command = [expand(str(part), env) for part in container.get("command") or []]
    args = [expand(str(part), env) for part in container.get("args") or []]
    name = container.get("name", "?")
    if is_runtime_image(str(container.get("image", "")), runtime_images):
        if not command:
            command, args = list(_RUNTIME_ENTRYPOINT), args or list(_RUNTIME_DEFAULT_ARGS)
        argv = _split_equals([*command, *args])
        if argv[0] != "edgeops":
            raise ContainerConfigError(
                f"container {name}: the runtime image runs `edgeops`, not {argv[0]!r}", "CreateContainerError"
            )
        argv = [*edgeops, *argv[1:]]
        found = _config_arg(argv)
        if found is None:
            return Launch(tuple(argv))
        index, path = found
        return Launch(tuple(argv), runtime_config=path, config_index=index)
    if not command and not args:
        raise ContainerConfigError(
            f"container {name}: image {container.get('image')!r} is not the runtime's and no command is given: "
            "the sandbox agent runs the runtime image or an explicit command",
            "CreateContainerError",
        )
    return Launch(tuple(mounts.map_arg(part) for part in [*command, *args]))


def _split_equals(argv: list[str]) -> list[str]:
    """`--config=PATH` as two arguments, so the path has an index of its own."""
    out: list[str] = []
    for arg in argv:
        if arg.startswith("--config="):
            out += ["--config", arg.removeprefix("--config=")]
        else:
            out.append(arg)
    return out


def _config_arg(argv: Sequence[str]) -> tuple[int, str] | None:
    """Index and value of `--config`/`-c`."""
    for index, arg in enumerate(argv):
        if arg in ("--config", "-c") and index + 1 < len(argv):
            return index + 1, argv[index + 1]
    return None


def _clean(path: str) -> str:
    """Absolute and normalized: `..` cannot climb above the container's root (nor out of the pod's directory)."""
    return posixpath.normpath("/" + path.lstrip("/"))


def _under(path: str, mount: str) -> bool:
    return mount in (path, "/") or path.startswith(mount + "/")
