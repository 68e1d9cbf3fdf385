"""`edgeops model build` and `edgeops model compat` as a user runs them (the CLI in a subprocess):

- build is reproducible: two runs in fresh interpreters (different hash seeds) print the same digest, which is
  the sha256 of the written artifact; the manifest names the IO signature; a nondeterministic build.py is refused;
- compat on the example models (copied to a tmp dir): cpu and wasm (real Node + onnxruntime-web) pass within the
  model's tolerance; gpu is `pass` only where a GPU provider really runs, else `not-run`; one table line per target;
  model.yaml changes only in the version's artifact and compat lines;
- a golden set no target can meet fails with exit 1; bad input (no build.py, unknown target) exits 2.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.app.modelops.model_yaml import ModelDocument
from tests.fixtures.model_source import make_model_dir

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
EXAMPLE_MODELS = sorted(p.name for p in (REPO / "models").iterdir() if (p / "build.py").is_file())


def _edgeops(*args: str, hash_seed: str = "0") -> subprocess.CompletedProcess[str]:
    cli = Path(sys.executable).with_name("edgeops")
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    return subprocess.run([str(cli), *args], capture_output=True, text=True, timeout=600, check=False, env=env)


def _copy_model(name: str, tmp_path: Path) -> Path:
    target = tmp_path / "models" / name
    shutil.copytree(REPO / "models" / name, target, ignore=shutil.ignore_patterns("dist", "__pycache__"))
    return target


@pytest.mark.parametrize("name", EXAMPLE_MODELS)
def test_build_twice_gives_the_same_digest(name: str, tmp_path: Path) -> None:
    folder = _copy_model(name, tmp_path)
    # The first version: the template's deliberately slow one is rebuilt in test_template_versions.py.
    first = _edgeops("model", "build", str(folder), "--version", "1.0.0", hash_seed="1")
    assert first.returncode == 0, first.stderr
    artifact = (folder / "dist" / "model.onnx").read_bytes()
    second = _edgeops("model", "build", str(folder), "--version", "1.0.0", hash_seed="2")
    assert second.returncode == 0, second.stderr
    digest = first.stdout.strip().splitlines()[-1]
    assert second.stdout.strip().splitlines()[-1] == digest
    assert digest == "sha256:" + hashlib.sha256(artifact).hexdigest()
    assert (folder / "dist" / "model.onnx").read_bytes() == artifact
    manifest = json.loads((folder / "dist" / "manifest.json").read_text())
    assert manifest["digest"] == digest
    assert manifest["size"] == len(artifact)
    declared = ModelDocument(folder / "model.yaml").model.spec.signature
    assert [i["name"] for i in manifest["inputs"]] == [t.name for t in declared.inputs]
    assert manifest["opset"] == ModelDocument(folder / "model.yaml").model.spec.versions[0].opset


def test_nondeterministic_build_is_refused(tmp_path: Path) -> None:
    folder = make_model_dir(tmp_path / "flaky")
    build = folder / "build.py"
    build.write_text(build.read_text().replace("SEED = 7", "import os\nSEED = int.from_bytes(os.urandom(4), 'little')"))
    result = _edgeops("model", "build", str(folder))
    assert result.returncode == 2
    assert "not deterministic" in result.stderr
    assert "build.py" in result.stderr


def _changed(before: str, after: str) -> list[str]:
    return [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def _gpu_expected() -> bool:
    try:
        import onnxruntime
    except ImportError:
        return False
    return "CUDAExecutionProvider" in onnxruntime.get_available_providers() and shutil.which("nvidia-smi") is not None


@pytest.mark.parametrize("name", EXAMPLE_MODELS)
def test_compat_matrix_on_the_example_models(name: str, tmp_path: Path) -> None:
    folder = _copy_model(name, tmp_path)
    before = (folder / "model.yaml").read_text()
    result = _edgeops(
        "model", "compat", str(folder), "--version", "1.0.0", "--targets", "cpu,wasm,gpu", "--repeats", "50"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("TARGET"))
    rows = {line.split()[0]: line.split()[1] for line in lines[header + 1 : header + 4]}
    assert rows["cpu"] == "pass"
    assert rows["wasm"] == "pass"
    assert rows["gpu"] == ("pass" if _gpu_expected() else "not-run")

    document = ModelDocument(folder / "model.yaml")
    recorded = next(v for v in document.model.spec.versions if v.compat.cpu.result == "pass")
    assert recorded.compat.wasm.result == "pass"
    assert recorded.compat.wasm.runtime is not None
    assert recorded.compat.wasm.runtime.startswith("onnxruntime-web ")
    assert recorded.compat.wasm.max_abs_diff is not None
    assert recorded.compat.wasm.max_abs_diff <= document.model.spec.tolerance
    assert recorded.compat.cpu.latency_ms is not None
    # Only the recorded version's artifact (placeholder digest/size) and compat lines change.
    allowed = (
        "digest:",
        "size:",
        "compat:",
        "cpu:",
        "wasm:",
        "gpu:",
        "result:",
        "runtime:",
        "provider:",
        "maxAbsDiff:",
        "latencyMs:",
        "checkedAt:",
        "reason:",
    )
    changed = _changed(before, (folder / "model.yaml").read_text())
    assert changed
    assert all(line[1:].strip().startswith(allowed) for line in changed), changed
    assert all(line.startswith("+") for line in changed if "compat:" in line)


def test_compat_fails_when_outputs_are_off(tmp_path: Path) -> None:
    folder = make_model_dir(tmp_path / "off", golden_offset=0.25)
    result = _edgeops("model", "compat", str(folder), "--targets", "cpu,wasm", "--repeats", "0")
    assert result.returncode == 1, result.stdout + result.stderr
    rows = [line.split() for line in result.stdout.splitlines() if line.startswith(("cpu", "wasm"))]
    assert [(row[0], row[1]) for row in rows] == [("cpu", "fail"), ("wasm", "fail")]
    assert "outside atol=1e-05" in result.stdout
    compat = ModelDocument(folder / "model.yaml").model.spec.versions[0].compat
    assert compat.cpu.result == "fail"
    assert compat.wasm.result == "fail"
    assert compat.gpu.result == "not-run"  # not requested: left as it was


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--targets", "cpu,tpu"], "unknown target 'tpu'"),
        (["--version", "7.7.7"], "no version 7.7.7"),
    ],
)
def test_compat_bad_input_exits_2(tmp_path: Path, args: list[str], message: str) -> None:
    folder = make_model_dir(tmp_path / "tiny")
    result = _edgeops("model", "compat", str(folder), *args)
    assert result.returncode == 2
    assert message in result.stderr


def test_missing_build_py_exits_2(tmp_path: Path) -> None:
    result = _edgeops("model", "build", str(tmp_path))
    assert result.returncode == 2
    assert "build.py: missing" in result.stderr
