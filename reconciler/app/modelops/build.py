"""`edgeops model build`: run the model's build.py for one version, check and describe the ONNX bytes, and write
`<model>/dist/model.onnx` and `<model>/dist/manifest.json` (ignored by git).

The version (default: the latest in model.yaml) picks the recipe: its `build` block, passed to
`build_onnx(recipe)`. A version not in model.yaml yet (a push that adds it) is built with the latest version's
recipe; a version without a `build` block with `build_onnx()`.

Reproducibility is the model's contract (build_onnx() is deterministic) and is checked here: the artifact is
built again in a fresh interpreter (another hash seed, module-level state re-created) and the digests must agree,
so a nondeterministic build fails at once instead of producing an artifact nobody can rebuild.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.app.modelops.model_yaml import ModelDocument
from reconciler.app.modelops.source import ModelSource, ModelSourceError, build_bytes, load_model_source
from reconciler.core.modelops import ArtifactManifest, describe_onnx, sha256_digest

DIST = "dist"
ARTIFACT_FILE = "model.onnx"
MANIFEST_FILE = "manifest.json"


class NotReproducible(ModelSourceError):
    """Two builds of the same source gave different bytes."""


@dataclass(frozen=True)
class BuildResult:
    source: ModelSource
    manifest: ArtifactManifest
    artifact_path: Path
    manifest_path: Path
    data: bytes
    version: str | None  # the model.yaml version whose recipe was built (None: no model.yaml)


def version_recipe(source: ModelSource, version: str | None) -> tuple[str | None, dict[str, Any] | None]:
    """Which version is built and its recipe (model.yaml `build` block, snake_case keys), as described above."""
    if not source.model_yaml.is_file():
        return version, None
    versions = ModelDocument(source.model_yaml).model.spec.versions
    chosen = next((v for v in versions if v.version == version), versions[-1])
    recipe = None if chosen.build is None else chosen.build.model_dump(mode="json")
    return version or chosen.version, recipe


def dist_dir(model_dir: Path) -> Path:
    return model_dir.resolve() / DIST


def write_atomically(path: Path, data: bytes) -> None:
    """Readers see the old file or the new one, never a partial write."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


_REBUILD = """
import hashlib, importlib.util, json, sys
spec = importlib.util.spec_from_file_location("edgeops_model_rebuild", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
recipe = json.loads(sys.argv[2])
data = module.build_onnx() if recipe is None else module.build_onnx(recipe)
print("sha256:" + hashlib.sha256(data).hexdigest())
"""


def digest_in_fresh_interpreter(build_file: Path, recipe: dict[str, Any] | None) -> str:
    """The digest build.py gives for `recipe` in a new Python process (another hash seed, fresh module state)."""
    env = {**os.environ, "PYTHONHASHSEED": "random"}
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _REBUILD, str(build_file), json.dumps(recipe)],
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
            env=env,
            cwd=build_file.parent,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ModelSourceError(f"{build_file}: rebuild in a fresh interpreter failed: {error}") from error
    if proc.returncode != 0:
        raise ModelSourceError(f"{build_file}: rebuild in a fresh interpreter failed: {proc.stderr.strip()[-1500:]}")
    return proc.stdout.strip().splitlines()[-1]


def build_model(model_dir: Path, *, version: str | None = None, verify_reproducible: bool = True) -> BuildResult:
    source = load_model_source(model_dir)
    version, recipe = version_recipe(source, version)
    data = build_bytes(source, recipe)
    if verify_reproducible:
        again = digest_in_fresh_interpreter(source.directory / "build.py", recipe)
        if again != sha256_digest(data):
            raise NotReproducible(
                f"{source.directory / 'build.py'}: build_onnx() is not deterministic "
                f"({sha256_digest(data)} then {again}); fix seeds, timestamps and iteration order"
            )
    manifest = describe_onnx(data)
    out = dist_dir(model_dir)
    artifact_path = out / ARTIFACT_FILE
    manifest_path = out / MANIFEST_FILE
    write_atomically(artifact_path, data)
    write_atomically(manifest_path, manifest.to_json().encode())
    return BuildResult(
        source=source,
        manifest=manifest,
        artifact_path=artifact_path,
        manifest_path=manifest_path,
        data=data,
        version=version,
    )
