"""A model release end to end, as CI and a zone perform it, on a copy of the example model fraud-scoring:

`edgeops model compat` (cpu + wasm, real Node) → `edgeops model push` to a real registry → model.yaml carries the
digest and the passing evidence → an edge runtime pulls the artifact by that digest (the ref built from its
region registry + the recorded registry-relative ref), loads it with the runtime's own loader (window from
model.yaml) and reproduces the golden scores within the model's tolerance.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from reconciler.app.modelops.model_yaml import ModelDocument
from runtime.artifacts import ModelPuller, PullMetrics
from runtime.config import ModelDeploymentConfig
from runtime.session import load_model
from tests.fixtures.registry import LocalRegistry

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]


def _edgeops(*args: str) -> subprocess.CompletedProcess[str]:
    cli = Path(sys.executable).with_name("edgeops")
    return subprocess.run(
        [str(cli), *args], capture_output=True, text=True, timeout=600, check=False, env={**os.environ}
    )


async def test_release_and_edge_pull_of_fraud_scoring(oci_registry: LocalRegistry, tmp_path: Path) -> None:
    folder = tmp_path / "models" / "fraud-scoring"
    shutil.copytree(REPO / "models" / "fraud-scoring", folder, ignore=shutil.ignore_patterns("dist", "__pycache__"))
    version = "1.1.0"  # the canary the template's zones run

    compat = _edgeops("model", "compat", str(folder), "--version", version, "--targets", "cpu,wasm", "--repeats", "20")
    assert compat.returncode == 0, compat.stdout + compat.stderr
    push = _edgeops(
        "model", "push", str(folder), "--version", version, "--registry", f"{oci_registry.host}/edge-models"
    )
    assert push.returncode == 0, push.stdout + push.stderr
    digest = push.stdout.strip().splitlines()[-1]

    model = ModelDocument(folder / "model.yaml").model
    release = model.spec.version(version)
    assert release is not None
    assert release.artifact.digest == digest
    assert release.artifact.placeholder is False
    assert (release.compat.cpu.result, release.compat.wasm.result) == ("pass", "pass")

    deployment = ModelDeploymentConfig.model_validate_json(
        json.dumps(
            {
                "name": model.name,
                "version": version,
                "track": "stable",
                "artifact": {"ref": f"{oci_registry.host}/{release.artifact.ref}", "digest": digest},
                "subjects": {
                    "stream": "PAYMENTS",
                    "input": "payments.tx",
                    "durable": "fraud",
                    "result": "scores.fraud",
                    "shadow": "scores.fraud.shadow",
                    "dead_letter": "payments.dlq",
                },
                "window": model.spec.window.model_dump(mode="json", exclude_none=True),
                "providers": ["cpu"],
            }
        )
    )
    edge_dir = tmp_path / "edge" / "models"
    puller = ModelPuller(edge_dir, metrics=PullMetrics(CollectorRegistry()))
    path = await puller.ensure(deployment.artifact.ref, deployment.artifact.digest, model=deployment.deployment_id)
    assert path == deployment.artifact.path_in(edge_dir)

    loaded = load_model(deployment, edge_dir)
    golden = json.loads((folder / "golden.json").read_text())
    scores = loaded.run(np.asarray(golden["features"], dtype=np.float32))
    expected = np.asarray(golden["scores"][version], dtype=np.float64)[:, 0]
    assert np.max(np.abs(scores - expected)) <= model.spec.tolerance
