"""Round-trip edits of `models/<name>/model.yaml` with ruamel.yaml: comments, key order, quoting and indentation
of everything not edited stay as written, so the diff of a compat run or a push shows only the changed lines.

The file is read for decisions as the loader reads it (`reconciler.core.load.read_document`): ruamel only edits.
After every edit the written text is read the loader's way and validated against the spec
(`reconciler.core.spec.model.Model`) before the file is replaced (atomically), and it must mean what the edit
intended: the values the edit left alone keep the meaning the loader gave them, the values it wrote read back as
written (`reconciler.core.load.write`). So a bad edit never reaches the tree.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from reconciler.core.load import (
    EditRefused,
    Problem,
    read_document,
    rejected,
    round_trip_dump,
    round_trip_load,
    round_trip_yaml,
    validate_document,
    write,
    written,
)
from reconciler.core.modelops import ArtifactManifest, signature_mismatches
from reconciler.core.spec import Artifact, CompatResult, Model, Target


class ModelYamlError(ValueError):
    """model.yaml is missing, not YAML, not a valid Model, or lacks what an edit needs (names path and why)."""


def _plain(tree: Any) -> Any:
    return json.loads(json.dumps(tree, default=str))


class ModelDocument:
    """One model.yaml held as a round-trip tree; edit with the methods, then `save()`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            data = path.read_bytes()
        except OSError as error:
            raise ModelYamlError(f"{path}: cannot read: {error.strerror}") from error
        loaded = read_document(str(path), data)
        if isinstance(loaded, Problem):
            raise ModelYamlError(str(rejected(str(path), "Model", [loaded])))
        text = data.decode("utf-8-sig")  # read_document accepted it as UTF-8
        model = validate_document(loaded, "Model")
        if isinstance(model, list):
            raise ModelYamlError(str(rejected(str(path), "Model", model)))
        assert isinstance(model, Model)
        self.model = model
        self._loaded = loaded.data
        self._yaml = round_trip_yaml(text)
        try:
            self.tree: CommentedMap = round_trip_load(str(path), self._yaml, text, loaded.data)
        except EditRefused as refused:
            raise ModelYamlError(str(refused)) from None
        self._read = _plain(self.tree)

    def _validate(self) -> tuple[str, Model]:
        intended = _intended(self._loaded, self._read, _plain(self.tree))
        try:
            text, model = write(str(self.path), "Model", self._yaml, self.tree, intended)
        except EditRefused as refused:
            raise ModelYamlError(str(refused)) from None
        assert isinstance(model, Model)
        return text, model

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
        values = artifact.model_dump(mode="json", by_alias=True)
        if not artifact.placeholder:
            del values["placeholder"]  # false is the default: a built artifact carries no placeholder line
        _update_mapping(current, values)
        if opset is not None:
            node["opset"] = opset

    def add_version(self, version: str, artifact: Artifact, opset: int) -> None:
        """Append a version entry (format onnx, compat not yet run) after the existing ones."""
        if any(str(n.get("version")) == version for n in self._versions()):
            raise ModelYamlError(f"{self.path}: version {version} already exists")
        entry = CommentedMap()
        entry["version"] = written(version)
        entry["format"] = "onnx"
        entry["opset"] = opset
        entry["artifact"] = CommentedMap(
            written(artifact.model_dump(mode="json", by_alias=True, exclude_defaults=True))
        )
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
        try:
            return round_trip_dump(str(self.path), self._yaml, self.tree)
        except EditRefused as refused:
            raise ModelYamlError(str(refused)) from None

    def save(self) -> Model:
        """Validate the edited tree, then replace the file atomically (write a sibling, fsync, rename)."""
        text, self.model = self._validate()
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
        target[key] = written(value)


def _same(current: Any, new: Any) -> bool:
    # ruamel's scalar types subclass int/float/str, so == compares values, not formatting.
    return bool(current == new)


_ABSENT = object()


def _intended(loaded: Any, read: Any, edited: Any) -> Any:
    """What the edited tree should mean to the loader: the loader's reading (`loaded`) wherever the edit left the
    round-trip reading (`read`) as it was, the value the edit wrote (`edited`) wherever it changed it."""
    if isinstance(edited, dict):
        return {
            key: _intended(
                loaded.get(key) if isinstance(loaded, dict) else None,
                read.get(key, _ABSENT) if isinstance(read, dict) else _ABSENT,
                value,
            )
            for key, value in edited.items()
        }
    if isinstance(edited, list):
        return [
            _intended(
                loaded[i] if isinstance(loaded, list) and i < len(loaded) else None,
                read[i] if isinstance(read, list) and i < len(read) else _ABSENT,
                value,
            )
            for i, value in enumerate(edited)
        ]
    unchanged = read is not _ABSENT and type(read) is type(edited) and read == edited
    return loaded if unchanged else edited
