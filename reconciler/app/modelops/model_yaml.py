"""Round-trip edits of `models/<name>/model.yaml` with ruamel.yaml: comments, key order, quoting and indentation
of everything not edited stay as written, so the diff of a compat run or a push shows only the changed lines.

After every edit the document is validated against the spec (`reconciler.core.spec.model.Model`) before the file
is replaced (atomically), so a bad edit never reaches the tree.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from reconciler.core.modelops import ArtifactManifest, signature_mismatches
from reconciler.core.spec import Artifact, CompatResult, Model, Target


class ModelYamlError(ValueError):
    """model.yaml is missing, not YAML, not a valid Model, or lacks what an edit needs (names path and why)."""


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap long lines the author wrote on one line
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


class ModelDocument:
    """One model.yaml held as a round-trip tree; edit with the methods, then `save()`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise ModelYamlError(f"{path}: cannot read: {error.strerror}") from error
        self._yaml = _yaml()
        self._detect_indent(text)
        try:
            self.tree: CommentedMap = self._yaml.load(text)
        except YAMLError as error:
            raise ModelYamlError(f"{path}: not valid YAML: {error}") from error
        if not isinstance(self.tree, CommentedMap):
            raise ModelYamlError(f"{path}: the document is not a mapping")
        self.model = self._validate()

    def _detect_indent(self, text: str) -> None:
        # Keep the author's list style: the dash's indent under its parent key (0: "- x" flush, 2: indented).
        lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
        for previous, line in itertools.pairwise(lines):
            if line.lstrip().startswith("- ") and previous.rstrip().endswith(":"):
                offset = (len(line) - len(line.lstrip())) - (len(previous) - len(previous.lstrip()))
                offset = max(offset, 0)
                self._yaml.indent(mapping=2, sequence=offset + 2, offset=offset)
                return

    def _validate(self) -> Model:
        plain = json.loads(json.dumps(self.tree, default=str))
        try:
            return Model.model_validate(plain)
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in error.errors()
            )
            raise ModelYamlError(f"{self.path}: not a valid Model: {problems}") from error

    # ------------------------------------------------------------------ lookups

    def _versions(self) -> CommentedSeq:
        versions = self.tree.get("spec", {}).get("versions")
        if not isinstance(versions, CommentedSeq):
            raise ModelYamlError(f"{self.path}: spec.versions is not a list")
        return versions

    def _version_node(self, version: str) -> CommentedMap:
        for node in self._versions():
            if isinstance(node, CommentedMap) and str(node.get("version")) == version:
                return node
        known = ", ".join(str(n.get("version")) for n in self._versions())
        raise ModelYamlError(f"{self.path}: no version {version} in spec.versions (have: {known})")

    # ------------------------------------------------------------------ edits

    def set_compat(self, version: str, target: Target, result: CompatResult) -> None:
        node = self._version_node(version)
        compat = node.get("compat")
        if not isinstance(compat, CommentedMap):
            compat = CommentedMap()
            node["compat"] = compat
        entry = compat.get(target)
        if not isinstance(entry, CommentedMap):
            entry = CommentedMap()
            compat[target] = entry
        _update_mapping(entry, result.model_dump(mode="json", by_alias=True, exclude_none=True))

    def set_artifact(self, version: str, artifact: Artifact, opset: int | None = None) -> None:
        node = self._version_node(version)
        current = node.get("artifact")
        if not isinstance(current, CommentedMap):
            current = CommentedMap()
            node["artifact"] = current
        _update_mapping(current, artifact.model_dump(mode="json", by_alias=True))
        if opset is not None:
            node["opset"] = opset

    def add_version(self, version: str, artifact: Artifact, opset: int) -> None:
        """Append a version entry (format onnx, compat not yet run) after the existing ones."""
        if any(str(n.get("version")) == version for n in self._versions()):
            raise ModelYamlError(f"{self.path}: version {version} already exists")
        entry = CommentedMap()
        entry["version"] = version
        entry["format"] = "onnx"
        entry["opset"] = opset
        entry["artifact"] = CommentedMap(artifact.model_dump(mode="json", by_alias=True))
        self._versions().append(entry)

    def check_signature(self, manifest: ArtifactManifest) -> None:
        """Refuse an artifact whose IO signature differs from spec.signature (the runtime feeds what it declares)."""
        problems = signature_mismatches(self.model.spec.signature, manifest)
        if problems:
            raise ModelYamlError(
                f"{self.path}: the built artifact does not match spec.signature: " + "; ".join(problems)
            )

    def has_version(self, version: str) -> bool:
        return any(str(n.get("version")) == version for n in self._versions())

    # ------------------------------------------------------------------ output

    def render(self) -> str:
        buffer = io.StringIO()
        self._yaml.dump(self.tree, buffer)
        return buffer.getvalue()

    def save(self) -> Model:
        """Validate the edited tree, then replace the file atomically (write a sibling, fsync, rename)."""
        self.model = self._validate()
        text = self.render()
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return self.model


def _update_mapping(target: CommentedMap, values: Mapping[str, Any]) -> None:
    """Set changed keys in place (existing keys keep their position and comments), append new ones, and drop keys
    the new value no longer has (stale evidence must not survive a re-run)."""
    for key in [k for k in target if k not in values]:
        del target[key]
    for key, value in values.items():
        if key in target and _same(target[key], value):
            continue
        target[key] = value


def _same(current: Any, new: Any) -> bool:
    # ruamel's scalar types subclass int/float/str, so == compares values, not formatting.
    return bool(current == new)
