"""load: a `SourceTree` (files of one revision) → `FleetSpec` plus every problem found, positioned.

Pure: the same tree always gives the same result, whether it was read from a working tree or a git commit.
Never partial: when any error is found, `spec` is None and nothing downstream may act on the revision.
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.core.load import crossref, documents, keys, yamldoc
from reconciler.core.load.crossref import Documents, Loaded
from reconciler.core.load.problems import Problem, Severity
from reconciler.core.load.secrets import find_plaintext_secrets
from reconciler.core.load.source import SourceFile, SourceTree, is_desired_state_path, is_public_key_path
from reconciler.core.spec import CanaryPolicy, Fleet, FleetSpec, Model, Zone

FLEET_FILE = "fleet/fleet.yaml"


@dataclass(frozen=True)
class LoadResult:
    spec: FleetSpec | None
    problems: tuple[Problem, ...]
    revision: str | None = None

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity is Severity.WARNING)

    @property
    def ok(self) -> bool:
        return self.spec is not None


def _expected_kind(path: str) -> str | Problem:
    parts = path.split("/")
    stem = parts[-1].rsplit(".", 1)[0]
    if parts[0] == "fleet":
        if len(parts) == 2:
            return (
                "Fleet"
                if stem == "fleet"
                else Problem(
                    path, 0, 0, "layout.misplaced-file", "fleet/ holds only fleet.yaml and policies/<name>.yaml"
                )
            )
        return "CanaryPolicy"
    if parts[0] == "zones":
        if len(parts) != 3:
            return Problem(path, 0, 0, "layout.misplaced-file", "zone files live at zones/<region>/<zone>.yaml")
        return "Zone"
    return "Model"


def _layout(loaded: Loaded[Fleet] | Loaded[CanaryPolicy] | Loaded[Zone] | Loaded[Model]) -> list[Problem]:
    """File and folder names must agree with the document: they are how people find things."""
    parts = loaded.doc.path.split("/")
    name = loaded.spec.metadata.name
    problems: list[Problem] = []
    if isinstance(loaded.spec, Zone):
        if parts[2].rsplit(".", 1)[0] != name:
            problems.append(
                loaded.at(
                    ("metadata", "name"), "layout.name-mismatch", f"zone {name!r} must live in a file named {name}.yaml"
                )
            )
        if parts[1] != loaded.spec.spec.region:
            problems.append(
                loaded.at(
                    ("spec", "region"),
                    "layout.region-mismatch",
                    f"zone is in region {loaded.spec.spec.region!r} but lives under zones/{parts[1]}/",
                )
            )
    elif isinstance(loaded.spec, Model) and parts[1] != name:
        problems.append(
            loaded.at(
                ("metadata", "name"), "layout.name-mismatch", f"model {name!r} must live in models/{name}/model.yaml"
            )
        )
    elif isinstance(loaded.spec, CanaryPolicy) and parts[2].rsplit(".", 1)[0] != name:
        problems.append(
            loaded.at(
                ("metadata", "name"), "layout.name-mismatch", f"policy {name!r} must live in fleet/policies/{name}.yaml"
            )
        )
    return problems


def _name_hint(doc: yamldoc.YamlDocument) -> str:
    """The name a broken document claims (or its file suggests), so references to it are not reported twice."""
    metadata = doc.data.get("metadata")
    if isinstance(metadata, dict) and isinstance(metadata.get("name"), str):
        return str(metadata["name"])
    parts = doc.path.split("/")
    return parts[1] if parts[0] == "models" else parts[-1].rsplit(".", 1)[0]


def load_tree(tree: SourceTree) -> LoadResult:
    problems: list[Problem] = list(tree.problems)
    docs = Documents(fleet=None, policies={}, zones=[], models={})
    files: list[SourceFile] = sorted((f for f in tree.files if is_desired_state_path(f.path)), key=lambda f: f.path)
    key_files = {f.path: f.data for f in files if is_public_key_path(f.path)}
    files = [f for f in files if f.path not in key_files]
    public_keys, key_problems = keys.read_keys(key_files)
    problems += key_problems
    if not any(f.path == FLEET_FILE for f in files) and not any(p.file == FLEET_FILE for p in tree.problems):
        problems.append(
            Problem(FLEET_FILE, 0, 0, "layout.missing-fleet", "fleet/fleet.yaml is missing: every fleet needs one")
        )
    for source in files:
        kind = _expected_kind(source.path)
        if isinstance(kind, Problem):
            problems.append(kind)
            continue
        parsed = yamldoc.read_document(source.path, source.data)
        if isinstance(parsed, Problem):
            problems.append(parsed)
            _mark_broken(docs, kind, source.path, None)
            continue
        problems += find_plaintext_secrets(parsed)
        result = documents.validate(parsed, kind)
        if isinstance(result, list):
            problems += result
            _mark_broken(docs, kind, source.path, parsed)
            continue
        loaded: Loaded[Fleet] | Loaded[CanaryPolicy] | Loaded[Zone] | Loaded[Model]
        if isinstance(result, Fleet):
            loaded = docs.fleet = Loaded(parsed, result)
        elif isinstance(result, CanaryPolicy):
            loaded = docs.policies[result.metadata.name] = Loaded(parsed, result)
        elif isinstance(result, Zone):
            loaded = Loaded(parsed, result)
            docs.zones.append(loaded)
        else:
            assert isinstance(result, Model)
            loaded = docs.models[result.metadata.name] = Loaded(parsed, result)
        problems += _layout(loaded)
    problems += crossref.check(docs)
    problems += keys.check_references(docs.fleet, set(key_files))
    problems.sort(key=lambda p: (p.file, p.line, p.column, p.code, p.message))
    spec = None
    if docs.fleet is not None and not any(p.severity is Severity.ERROR for p in problems):
        spec = FleetSpec(
            fleet=docs.fleet.spec,
            policies={name: p.spec for name, p in sorted(docs.policies.items())},
            zones=tuple(sorted((z.spec for z in docs.zones), key=lambda z: (z.spec.region, z.name))),
            models={name: m.spec for name, m in sorted(docs.models.items())},
            public_keys=public_keys,
        )
    return LoadResult(spec=spec, problems=tuple(problems), revision=tree.revision)


def _mark_broken(docs: Documents, kind: str, path: str, doc: yamldoc.YamlDocument | None) -> None:
    name = _name_hint(doc) if doc is not None else _name_hint(yamldoc.YamlDocument(path, {}))
    if kind == "CanaryPolicy":
        docs.broken_policies.add(name)
    elif kind == "Model":
        docs.broken_models.add(name)
    elif kind == "Zone":
        docs.broken_zones.add(name)
    elif kind == "Fleet":
        docs.broken_fleet = True
