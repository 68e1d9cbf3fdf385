"""`edgeops model push`: push the built artifact to every region's registry and record it in model.yaml.

`push_model_version` is the entry point the PR bot calls: it returns which file changed and a Markdown summary for
the pull request that adds the version; it never touches git or the forge itself.

Released versions are immutable: pushing version V whose model.yaml entry already names another (non-placeholder)
digest is refused before anything is uploaded.

With a signing key every pushed manifest is signed in cosign's format (`reconciler.app.modelops.sign`). When the
fleet's regions declare `modelSigningKeys`, a push without a key, or with a key none of them trusts, is refused
before anything is uploaded: the edge would refuse the artifact.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from reconciler.app.modelops.build import BuildResult, build_model
from reconciler.app.modelops.compat import load_compat_json
from reconciler.app.modelops.model_yaml import ModelDocument, ModelYamlError
from reconciler.app.modelops.sign import SignedArtifact, SigningKey, sign_pushed
from reconciler.core.load import Problem, read_document, rejected, validate_document
from reconciler.core.modelops import ALL_TARGETS, build_artifact
from reconciler.core.spec import Artifact, CompatResult, Fleet, Target, Version
from reconciler.shells.registry import PushedArtifact, RegistryClient, RegistryLocation, parse_registry
from runtime import cosign


class PushConfigError(ValueError):
    """No registry to push to, or fleet.yaml cannot say which (names the file and why)."""


@dataclass(frozen=True)
class PushOutcome:
    model: str
    version: str
    build: BuildResult
    pushed: tuple[PushedArtifact, ...]
    model_yaml: Path | None  # the file that changed (None when recording was off or there is no model.yaml)
    compat: Mapping[Target, CompatResult] = field(default_factory=dict)
    signed: tuple[SignedArtifact, ...] = ()

    @property
    def digest(self) -> str:
        return self.build.manifest.digest

    def summary_markdown(self) -> str:
        """The body of the pull request that adds the version: artifact, where it was pushed, compat evidence."""
        manifest = self.build.manifest
        signature = ", ".join(f"`{t.name}` {t.dtype} {list(t.shape)}" for t in (*manifest.inputs, *manifest.outputs))
        lines = [
            f"Adds **{self.model} {self.version}** to `models/{self.model}/model.yaml`.",
            "",
            f"- artifact: `{self.digest}` ({manifest.size} bytes, ONNX opset {manifest.opset})",
            f"- IO: {signature}",
            *(f"- pushed: `{p.ref}` (manifest `{p.manifest_digest}`)" for p in self.pushed),
            *(f"- signed: `{s.pushed.registry}/{s.pushed.repository}:{s.signature_tag}` (cosign)" for s in self.signed),
            "",
            "| target | result | max abs diff | latency p50 | runtime | note |",
            "|---|---|---|---|---|---|",
        ]
        for target in ALL_TARGETS:
            result = self.compat.get(target)
            if result is None:
                lines.append(f"| {target} | not-run | | | | no result for this digest |")
                continue
            diff = "" if result.max_abs_diff is None else f"{result.max_abs_diff:.2e}"
            latency = "" if result.latency_ms is None else f"{result.latency_ms * 1000:.1f} µs"
            note = (result.reason or "").replace("|", "\\|")
            lines.append(f"| {target} | {result.result} | {diff} | {latency} | {result.runtime or ''} | {note} |")
        return "\n".join(lines) + "\n"


def _load_fleet(fleet_yaml: Path) -> Fleet:
    """fleet.yaml read as the loader reads it."""
    try:
        data = fleet_yaml.read_bytes()
    except OSError as error:
        raise PushConfigError(f"{fleet_yaml}: cannot read: {error.strerror} (or pass --registry)") from error
    document = read_document(str(fleet_yaml), data)
    fleet = validate_document(document, "Fleet") if not isinstance(document, Problem) else [document]
    if isinstance(fleet, list):
        raise PushConfigError(str(rejected(str(fleet_yaml), "Fleet", fleet)))
    assert isinstance(fleet, Fleet)
    return fleet


def registries_from_fleet(fleet_yaml: Path, *, plain_http: bool | None = None) -> tuple[RegistryLocation, ...]:
    """Each distinct registry of fleet.yaml's regions, in file order."""
    fleet = _load_fleet(fleet_yaml)
    seen: dict[str, RegistryLocation] = {}
    for region in fleet.spec.regions:
        seen.setdefault(region.registry, parse_registry(region.registry, plain_http=plain_http))
    return tuple(seen.values())


def _check_version_is_free(document: ModelDocument, version: str, digest: str) -> None:
    existing = document.model.spec.version(version)
    if existing is not None and not existing.artifact.placeholder and existing.artifact.digest != digest:
        raise ModelYamlError(
            f"{document.path}: version {version} was released as {existing.artifact.digest}; this build is "
            f"{digest}. Released versions are immutable: push a new version."
        )


def _check_semver(version: str) -> None:
    # Checked before anything is uploaded: model.yaml only accepts semantic versions.
    try:
        TypeAdapter(Version).validate_python(version)
    except ValidationError as error:
        raise PushConfigError(f"--version: {error.errors()[0]['msg']}") from error


def _created_from_env() -> str | None:
    # Reproducible-builds convention: a fixed creation time when the pipeline sets one, else no timestamp.
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if not epoch or not epoch.isdigit():
        return None
    return datetime.fromtimestamp(int(epoch), tz=UTC).isoformat().replace("+00:00", "Z")


def push_model_version(
    model_dir: Path,
    version: str,
    *,
    registries: Sequence[RegistryLocation] | None = None,
    fleet_yaml: Path | None = None,
    revision: str | None = None,
    source_url: str | None = None,
    plain_http: bool | None = None,
    record: bool = True,
    signing_key: SigningKey | None = None,
) -> PushOutcome:
    _check_semver(version)
    build = build_model(model_dir, version=version, verify_reproducible=False)
    document = ModelDocument(build.source.model_yaml) if build.source.model_yaml.is_file() else None
    if document is not None:
        document.check_signature(build.manifest)
        _check_version_is_free(document, version, build.manifest.digest)
    if not registries:
        fleet_yaml = fleet_yaml or build.source.directory.parent.parent / "fleet" / "fleet.yaml"
        registries = registries_from_fleet(fleet_yaml, plain_http=plain_http)
        check_signing_key(fleet_yaml, signing_key)
    if not registries:
        raise PushConfigError("no registry: fleet.yaml names none and no --registry was given")
    pushed: list[PushedArtifact] = []
    signed: list[SignedArtifact] = []
    for location in registries:
        artifact = build_artifact(
            model=build.source.name,
            version=version,
            manifest=build.manifest,
            repository=location.repository(build.source.name),
            revision=revision or os.environ.get("GITHUB_SHA"),
            source=source_url,
            created=_created_from_env(),
        )
        client = RegistryClient(location)
        pushed.append(client.push(artifact, build.data))
        if signing_key is not None:
            signed.append(sign_pushed(client, pushed[-1], signing_key))
    compat = load_compat_json(build.source.directory, build.manifest.digest)
    changed = None
    if record and document is not None:
        _record(document, version, build, pushed[0], compat)
        changed = document.path
    return PushOutcome(
        model=build.source.name,
        version=version,
        build=build,
        pushed=tuple(pushed),
        model_yaml=changed,
        compat=compat,
        signed=tuple(signed),
    )


def check_signing_key(fleet_yaml: Path, signing_key: SigningKey | None) -> None:
    """Refuse, before any upload, a push whose artifact a region's edge would refuse: regions that declare
    modelSigningKeys need a signing key whose public key is one of theirs (files relative to the repository)."""
    repo = fleet_yaml.resolve().parent.parent
    for region in _load_fleet(fleet_yaml).spec.regions:
        if not region.model_signing_keys:
            continue
        if signing_key is None:
            raise PushConfigError(
                f"region {region.name} runs only signed model artifacts (modelSigningKeys in {fleet_yaml}): "
                "pass --signing-key FILE or --signing-key-env NAME"
            )
        trusted = {_public_pem(repo / path) for path in region.model_signing_keys}
        if cosign.public_key_pem(signing_key.key.public_key()) not in trusted:
            raise PushConfigError(
                f"the {signing_key.source} is not one of region {region.name}'s modelSigningKeys "
                f"({', '.join(region.model_signing_keys)}): its edge would refuse the artifact"
            )


def _public_pem(path: Path) -> str:
    try:
        return cosign.public_key_pem(cosign.load_public_key(path.read_bytes(), name=str(path)))
    except OSError as error:
        raise PushConfigError(f"{path}: cannot read: {error.strerror}") from error
    except cosign.CosignError as error:
        raise PushConfigError(str(error)) from error


def _record(
    document: ModelDocument,
    version: str,
    build: BuildResult,
    first: PushedArtifact,
    compat: Mapping[Target, CompatResult],
) -> None:
    # The ref is registry-relative (repository:tag): each zone pulls from its own region's registry host.
    artifact = Artifact(
        ref=f"{first.repository}:{first.tag}", digest=build.manifest.digest, size=build.manifest.size, placeholder=False
    )
    if document.has_version(version):
        document.set_artifact(version, artifact, opset=build.manifest.opset)
    else:
        document.add_version(version, artifact, opset=build.manifest.opset)
    for target, result in compat.items():
        document.set_compat(version, target, result)
    document.save()
