"""How a zone start fails, with stand-in programs for the components (real processes, no Kubernetes needed).

Matrix: storage process exits at once -> ZoneStartError naming the process, its exit code and its log tail, and
nothing left running; apiserver that always finds its port taken -> retried on new ports, then ZoneStartError
saying so; the environment drops the zones of a failed start.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from reconciler.sandbox.localkube import FALLBACK_CRD_DIR, KubeBinaries, LocalKube, ZoneStartError

pytestmark = pytest.mark.integration


def _script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_storage_that_exits_is_reported_with_its_log(tmp_path: Path) -> None:
    binaries = KubeBinaries(
        kube=_script(tmp_path / "kube", "exit 1"),
        kine=_script(tmp_path / "kine", 'echo "open state.db: disk I/O error" >&2; exit 3'),
    )
    env = LocalKube(tmp_path / "env", binaries=binaries, crd_dir=FALLBACK_CRD_DIR)
    with pytest.raises(ZoneStartError) as failed:
        env.start_zones(["broken"])
    message = str(failed.value)
    assert "broken/kine" in message
    assert "exited with code 3" in message
    assert "disk I/O error" in message
    assert env.zones == {}


def test_port_clash_is_retried_then_reported(tmp_path: Path, kube_binaries: KubeBinaries) -> None:
    attempts = tmp_path / "attempts"
    clashing_apiserver = _script(
        tmp_path / "kube",
        f'echo x >> {attempts}; echo "failed to listen: bind: address already in use" >&2; exit 1',
    )
    env = LocalKube(
        tmp_path / "env",
        binaries=KubeBinaries(kube=clashing_apiserver, kine=kube_binaries.kine),
        crd_dir=FALLBACK_CRD_DIR,
    )
    with pytest.raises(ZoneStartError, match="could not bind a port in 4 tries") as failed:
        env.start_zones(["clash"])
    assert len(attempts.read_text().split()) == 4
    assert "address already in use" in str(failed.value)
    assert env.zones == {}
