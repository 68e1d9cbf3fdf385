"""One local zone cluster: kine, kube-apiserver (TLS, RBAC), kube-controller-manager and kube-scheduler.

Start order is storage, apiserver, bootstrap objects, controllers. `stop()`/`start()` take only the apiserver
down and up again on the same port (the zone becomes unreachable, then returns with its storage intact, as a
K3s server that restarts); `close()` stops everything.
"""

from __future__ import annotations

import functools
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from reconciler.sandbox.localkube.api import AdminApi
from reconciler.sandbox.localkube.binaries import KubeBinaries
from reconciler.sandbox.localkube.crds import install_crds
from reconciler.sandbox.localkube.errors import PortInUse, ZoneStartError
from reconciler.sandbox.localkube.kubeconfig import write_kubeconfig
from reconciler.sandbox.localkube.pki import ZonePki, write_zone_pki, zone_pki_paths
from reconciler.sandbox.process import ServerProcess, free_port, log_says_port_in_use, port_accepts

LIMITED_USER = "edgeops-limited"
# Harmless lines that would crowd the log tail in failure reports: the etcd client's gRPC channels being closed
# while dialing kine, and the list of API versions not served.
_APISERVER_LOG_NOISE = ("addrConn.createTransport failed", "because it has no resources")
_PORT_ATTEMPTS = 4
# The controllers a zone needs for Deployments and StatefulSets (partitioned models) to roll out and namespaces to be
# deleted; the ServiceAccount admission plugin stays on because the serviceaccount controller creates the `default`
# account pods need.
_CONTROLLERS = "deployment,replicaset,statefulset,namespace,garbagecollector,serviceaccount,serviceaccount-token"


@dataclass(frozen=True)
class ZoneOptions:
    """How a zone runs. `storage="sqlite"` keeps the state in `<workdir>/state.db` across restarts."""

    storage: Literal["memory", "sqlite"] = "memory"
    controllers: bool = True
    limited_namespace: str = "limited"
    ready_timeout_s: float = 180.0
    # GOMEMLIMIT for the apiserver (MiB): makes its garbage collector work harder instead of growing.
    apiserver_memory_limit_mib: int | None = None


class LocalZone:
    """A zone cluster rooted at `workdir` (certificates, token file, logs, SQLite state)."""

    def __init__(
        self,
        name: str,
        workdir: Path,
        binaries: KubeBinaries,
        crds: tuple[dict[str, Any], ...],
        options: ZoneOptions | None = None,
    ) -> None:
        self.name = name
        self.workdir = workdir
        self.options = options or ZoneOptions()
        self._binaries = binaries
        self._crds = crds
        self.log_dir = workdir / "logs"
        self.pki: ZonePki = self._ensure_pki()
        self.limited_token = self._ensure_token()
        self.port = 0
        self._kine_port = 0
        self._kine: ServerProcess | None = None
        self._apiserver: ServerProcess | None = None
        self._controllers: list[ServerProcess] = []
        # Seconds the last `start()` took (reported by benchmarks and in failure reports).
        self.last_start_s: float | None = None
        self._cancelled = threading.Event()

    # ------------------------------------------------------------------ public surface

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def limited_namespace(self) -> str:
        return self.options.limited_namespace

    @property
    def processes(self) -> Mapping[str, ServerProcess]:
        found = [self._kine, self._apiserver, *self._controllers]
        return {p.name: p for p in found if p is not None}

    def admin_api(self) -> AdminApi:
        return AdminApi(self.port, self.pki)

    def start(self) -> None:
        """Start whatever is not running and wait until the zone serves; idempotent."""
        began = time.monotonic()
        deadline = began + self.options.ready_timeout_s
        self._start_kine(deadline)
        self._start_apiserver(deadline)
        self._bootstrap()
        if self.options.controllers:
            self._start_controllers(deadline)
        self.last_start_s = time.monotonic() - began

    def cancel(self) -> None:
        """Make a `start()` running in another thread give up at its next poll (interrupted test run)."""
        self._cancelled.set()

    def stop(self) -> None:
        """Take the apiserver down (the zone is unreachable); storage and controllers keep running."""
        if self._apiserver is not None:
            self._apiserver.stop()

    def close(self) -> None:
        """Stop every process of the zone, controllers first."""
        for process in reversed(list(self.processes.values())):
            process.stop()

    def failure_report(self, lines: int = 30) -> str:
        """The tail of every process log of this zone, for test failure output."""
        parts = [f"zone {self.name} ({self.server}), logs in {self.log_dir}"]
        for process in self.processes.values():
            state = "running" if process.running else f"exited {process.exit_code}"
            parts.append(f"--- {process.name} ({state}), last {lines} lines:\n{process.log_tail(lines)}")
        return "\n".join(parts)

    # ------------------------------------------------------------------ files

    def _ensure_pki(self) -> ZonePki:
        # Kept when the workdir is reused, so clients and SQLite-stored service-account tokens stay valid.
        pki_dir = self.workdir / "pki"
        existing = zone_pki_paths(pki_dir)
        if all(path.exists() for path in vars(existing).values()):
            return existing
        return write_zone_pki(pki_dir, self.name)

    def _ensure_token(self) -> str:
        token_file = self.workdir / "tokens.csv"
        if token_file.exists():
            return token_file.read_text().split(",", 1)[0]
        token = secrets.token_hex(24)
        token_file.write_text(f'{token},{LIMITED_USER},{LIMITED_USER},""\n')
        token_file.chmod(0o600)
        return token

    def _component_kubeconfig(self) -> Path:
        # The controllers act as the admin: one identity keeps the zone simple; RBAC is tested via the token user.
        path = self.workdir / "admin.kubeconfig"
        write_kubeconfig(path, [self])
        return path

    # ------------------------------------------------------------------ processes

    def _start_kine(self, deadline: float) -> None:
        if self._kine is not None and self._kine.running:
            return
        for _ in range(_PORT_ATTEMPTS):
            port = free_port()
            kine = ServerProcess(f"{self.name}/kine", self._kine_argv(port), self.log_dir / "kine.log")
            self._kine = kine
            kine.start()
            if self._wait(functools.partial(_kine_serving, kine, port), kine, deadline, "kine listening"):
                self._kine_port = port
                return
        raise ZoneStartError(kine.describe_failure(f"could not bind a port in {_PORT_ATTEMPTS} tries"))

    def _kine_argv(self, port: int) -> list[str]:
        if self.options.storage == "sqlite":
            database = self.workdir / "state.db"
            endpoint = f"sqlite://{database}?_journal=WAL&cache=shared&_busy_timeout=30000&_txlock=immediate"
        else:
            endpoint = "memory://"
        return [
            str(self._binaries.kine),
            f"--endpoint={endpoint}",
            f"--listen-address=127.0.0.1:{port}",
            # "0" turns the metrics listener off (its default is :8080 on every interface).
            "--metrics-bind-address=0",
            # The apiserver compacts the history itself (Kubernetes >= 1.34).
            "--compact-interval=0",
        ]

    def _start_apiserver(self, deadline: float) -> None:
        if self._apiserver is not None and self._apiserver.running:
            return
        restarting = self.port != 0
        for _ in range(_PORT_ATTEMPTS):
            if not restarting:
                self.port = free_port()
            env = {}
            if self.options.apiserver_memory_limit_mib is not None:
                env["GOMEMLIMIT"] = f"{self.options.apiserver_memory_limit_mib}MiB"
            apiserver = ServerProcess(
                f"{self.name}/apiserver",
                self._apiserver_argv(),
                self.log_dir / "apiserver.log",
                env=env,
                noise=_APISERVER_LOG_NOISE,
            )
            self._apiserver = apiserver
            apiserver.start()
            if self._wait(self._apiserver_ready, apiserver, deadline, "/readyz"):
                return
            if restarting:
                raise PortInUse(apiserver.describe_failure(f"port {self.port} is taken by another process"))
        raise ZoneStartError(apiserver.describe_failure(f"could not bind a port in {_PORT_ATTEMPTS} tries"))

    def _apiserver_argv(self) -> list[str]:
        pki = self.pki
        return [
            str(self._binaries.kube),
            "apiserver",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={self.port}",
            f"--cert-dir={self.workdir / 'pki'}",
            f"--tls-cert-file={pki.serving_cert}",
            f"--tls-private-key-file={pki.serving_key}",
            f"--client-ca-file={pki.ca_cert}",
            f"--token-auth-file={self.workdir / 'tokens.csv'}",
            "--authorization-mode=RBAC",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={pki.service_account_public_key}",
            f"--service-account-signing-key-file={pki.service_account_key}",
            "--service-cluster-ip-range=10.0.0.0/24",
            f"--etcd-servers=http://127.0.0.1:{self._kine_port}",
            # No kubelets and a single apiserver: nothing should maintain the kubernetes Service endpoints.
            "--endpoint-reconciler-type=none",
            "--allow-privileged=true",
            "--profiling=false",
        ]

    def _apiserver_ready(self) -> bool:
        try:
            return self.admin_api().request("GET", "/readyz").status == 200
        except OSError:
            return False

    def _start_controllers(self, deadline: float) -> None:
        if self._controllers and all(p.running for p in self._controllers):
            return
        kubeconfig = self._component_kubeconfig()
        common = [f"--kubeconfig={kubeconfig}", "--leader-elect=false", "--secure-port=0"]
        manager = [
            str(self._binaries.kube),
            "controller-manager",
            *common,
            f"--controllers={_CONTROLLERS}",
            "--use-service-account-credentials=false",
            f"--service-account-private-key-file={self.pki.service_account_key}",
            f"--root-ca-file={self.pki.ca_cert}",
        ]
        scheduler = [str(self._binaries.kube), "scheduler", *common]
        self._controllers = [
            ServerProcess(f"{self.name}/controller-manager", manager, self.log_dir / "controller-manager.log"),
            ServerProcess(f"{self.name}/scheduler", scheduler, self.log_dir / "scheduler.log"),
        ]
        for process in self._controllers:
            process.start()
        # The serviceaccount controller creating `default/default` shows the controller-manager is working.
        api = self.admin_api()
        manager_process = self._controllers[0]

        def default_account_exists() -> bool:
            try:
                return api.request("GET", "/api/v1/namespaces/default/serviceaccounts/default").status == 200
            except OSError:
                return False

        if not self._wait(default_account_exists, manager_process, deadline, "default ServiceAccount"):
            raise ZoneStartError(manager_process.describe_failure("exited before it created default/default"))

    def _bootstrap(self) -> None:
        api = self.admin_api()
        namespace = self.limited_namespace
        api.create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        rbac = f"/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}"
        api.create(
            f"{rbac}/roles",
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": {"name": LIMITED_USER, "namespace": namespace},
                "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}],
            },
        )
        api.create(
            f"{rbac}/rolebindings",
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": LIMITED_USER, "namespace": namespace},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": LIMITED_USER},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": LIMITED_USER}],
            },
        )
        install_crds(api, self._crds)

    def _wait(self, ready: Callable[[], bool], process: ServerProcess, deadline: float, what: str) -> bool:
        """Poll `ready` until true (True), the process exits on a port clash (False), or fail."""
        while True:
            if self._cancelled.is_set():
                raise ZoneStartError(f"zone {self.name}: start cancelled while waiting for {what}")
            if ready():
                return True
            if not process.running:
                if log_says_port_in_use(process.log_tail(20)):
                    return False
                raise ZoneStartError(process.describe_failure(f"exited while waiting for {what}"))
            if time.monotonic() > deadline:
                process.stop()
                raise ZoneStartError(
                    process.describe_failure(f"not ready ({what}) within {self.options.ready_timeout_s:.0f} s")
                )
            time.sleep(0.2)


def _kine_serving(kine: ServerProcess, port: int) -> bool:
    # Its own log line, not only an open port: another process could have taken the port meanwhile.
    return "Kine available at" in kine.output_since_start() and port_accepts(port)
