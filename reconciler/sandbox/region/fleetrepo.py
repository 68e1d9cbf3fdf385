"""The sandbox's fleet repository: the template copied into a working tree, its models built and pushed to the
local registry (`edgeops model push`, which records the digests in model.yaml), every zone started on its stable
versions (`edgeops sandbox demo` starts canaries through pull requests), the demo's canary policy added, committed
and pushed to a bare remote — what the region reconciler follows.

Every version of a model some zone of the region serves is pushed, not only the versions running now: the demo's
pull requests move zones to them, and a zone pulls what it runs from the region's registry.

The demo policy (`fleet/policies/demo.yaml`, `DEMO_POLICY`) is the standard policy shrunk to fit a few minutes:
short analysis windows, three live steps from half the traffic (so that one window holds enough samples for a
p95 that one late record on a busy machine does not decide), few samples, a ratio to stable that tolerates a shared machine's
scheduling noise on p95s of a few milliseconds, and five failed windows in a row before a rollback (a canary's
traffic is routed to it as soon as the reconciler applies the zone's NATS mapping, so the records queued while
its pod starts are answered seconds late, and a fresh canary runtime on a busy machine was seen at 10x stable's
p95 for over a minute; the slow version fails every window); the ceilings are the model's SLO (the deliberately slow
version is far over it). The sandbox's fleet has no maintenance windows, so a rollout may
move at any hour (a zone's own windows still hold for it).

Every change to the template is a commit of its own with a message saying why, so `git log` in the remote shows
what the sandbox runs and what it had to leave out.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml import YAML

from reconciler.app.desired import load_desired
from reconciler.app.modelops import ModelYamlError, push_model_version
from reconciler.core.spec import FleetSpec
from reconciler.shells.registry import parse_registry

# What the template consists of: everything else in the repository is the product's code.
_TEMPLATE = ("fleet", "zones", "models")
_AUTHOR = ["-c", "user.name=edgeops sandbox", "-c", "user.email=sandbox@edgeops.invalid"]


class FleetRepoError(Exception):
    """The template could not be copied, built, pushed or committed; the message says which step and why."""


@dataclass(frozen=True)
class FleetRepo:
    work: Path  # working tree (the agents read their zones' node pools from it)
    remote: Path  # bare repository the reconciler clones
    pushed: tuple[str, ...]  # "model version digest" of every artifact in the local registry
    notes: tuple[str, ...]  # what was left out, and why


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *_AUTHOR, *args], cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise FleetRepoError(f"git {' '.join(args)} in {cwd}: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


def _commit(work: Path, message: str) -> None:
    _git(work, "add", "-A")
    if _git(work, "status", "--porcelain").strip():
        _git(work, "commit", "-q", "-m", message)


def seed_fleet_repo(
    template: Path, root: Path, region: str, registry_host: str, say: Callable[[str], None]
) -> FleetRepo:
    """Copy `template`'s fleet into `root`/work, push its buildable model versions to `registry_host` (a loopback
    `host:port`), and push the result to the bare `root`/fleet.git."""
    work, remote = root / "work", root / "fleet.git"
    shutil.rmtree(root, ignore_errors=True)
    work.mkdir(parents=True)
    for part in _TEMPLATE:
        if not (template / part).is_dir():
            raise FleetRepoError(f"{template}: no {part}/ directory; is this an edgeops fleet repository?")
        shutil.copytree(template / part, work / part, ignore=shutil.ignore_patterns("dist", "__pycache__"))
    _git(work, "init", "-q", "-b", "main")
    _commit(work, "Fleet template")
    spec = _load(work)
    pushed, unbuilt, notes = _push_models(work, spec, region, registry_host, say)
    _commit(work, "Record the model artifacts pushed to the sandbox's registry")
    notes += _drop_canaries(work, spec, region, unbuilt)
    _commit(
        work,
        "Start every zone on its stable versions\n\n`edgeops sandbox demo` starts canaries through pull requests; "
        "canaries on versions the sandbox cannot build are named in `edgeops sandbox status`.",
    )
    _demo_policy(work)
    _commit(work, "Add the demo canary policy, and let rollouts move at any hour in the sandbox")
    _load(work)  # what the reconciler will read must still be valid
    _git(root, "init", "-q", "--bare", "-b", "main", str(remote))
    _git(work, "push", "-q", str(remote), "main")
    return FleetRepo(work, remote, tuple(pushed), tuple(notes))


def _load(work: Path) -> FleetSpec:
    loaded = load_desired(work)
    if loaded.spec is None:
        problems = "; ".join(str(p) for p in loaded.errors[:5])
        raise FleetRepoError(f"{work}: the fleet is not valid: {problems}")
    return loaded.spec


def _push_models(
    work: Path, spec: FleetSpec, region: str, registry_host: str, say: Callable[[str], None]
) -> tuple[list[str], set[tuple[str, str]], list[str]]:
    region_spec = spec.region(region)
    path = region_spec.registry.partition("/")[2] if region_spec is not None else ""
    location = parse_registry(f"{registry_host}/{path}" if path else registry_host, plain_http=True)
    pushed: list[str] = []
    unbuilt: set[tuple[str, str]] = set()
    notes: list[str] = []
    for name, model in sorted(spec.models.items()):
        model_dir = work / "models" / name
        if not (model_dir / "build.py").exists():
            unbuilt |= {(name, v.version) for v in model.spec.versions}
            notes.append(f"{name}: no build.py in models/{name}/, none of its versions is in the registry")
            continue
        for version in model.spec.versions:
            if name not in _served(spec, region):
                continue  # no zone of the region runs the model: built and pushed when needed (`edgeops model push`)
            if version.artifact.placeholder:
                unbuilt.add((name, version.version))
                notes.append(f"{name} {version.version}: model.yaml records a placeholder digest — not pushed")
                continue
            say(f"building model {name} {version.version} and pushing it to the local registry")
            try:  # one build: the push refuses a build that is not the recorded digest (CI proves them reproducible)
                done = push_model_version(
                    model_dir, version.version, registries=(location,), plain_http=True, record=True
                )
            except ModelYamlError as error:
                unbuilt.add((name, version.version))
                notes.append(f"{name} {version.version}: not pushed: {error}")
                continue
            pushed.append(f"{name} {version.version} {done.build.manifest.digest}")
    return pushed, unbuilt, notes


def _served(spec: FleetSpec, region: str) -> set[str]:
    """Every model some zone of the region runs."""
    return {assignment.model for zone in spec.zones_in(region) for assignment in zone.spec.models}


DEMO_POLICY = "demo"
_DEMO_POLICY_YAML = f"""\
# yaml-language-server: $schema=../schemas/canarypolicy.schema.json
# The sandbox's demo policy: the standard policy shrunk to a few minutes on one machine (`edgeops sandbox demo`).
apiVersion: edgeops.io/v1alpha1
kind: CanaryPolicy
metadata:
  name: {DEMO_POLICY}
spec:
  steps: [50, 75, 100]        # half the records from the first step: enough samples for a p95 in one window
  analysisInterval: 30s       # a bake window per step: 6 Prometheus scrapes
  inconclusiveLimit: 10       # a loaded machine may send fewer records; keep extending rather than hold
  metrics:
    maxRatioToStable: 3.0     # p95s of a few milliseconds: scheduling noise alone moves them by 2x
    minSamples: 30            # a 50 % share of 5 records/s over 30 s is 75
  failureLimit: 5             # a fresh canary on a busy machine: its first records waited for its pod, and its
                              # first minute was seen at 10x stable's p95; the slow version fails every window
  promotion: auto-merge
  rollback: auto-merge
"""


def _demo_policy(work: Path) -> None:
    (work / "fleet" / "policies" / f"{DEMO_POLICY}.yaml").write_text(_DEMO_POLICY_YAML, encoding="utf-8")
    yaml = YAML()
    yaml.preserve_quotes = True
    path = work / "fleet" / "fleet.yaml"
    doc = yaml.load(path.read_text(encoding="utf-8"))
    if doc["spec"].pop("maintenanceWindows", None) is not None:
        with path.open("w", encoding="utf-8") as out:
            yaml.dump(doc, out)


def _drop_canaries(work: Path, spec: FleetSpec, region: str, unbuilt: set[tuple[str, str]]) -> list[str]:
    yaml = YAML()
    yaml.preserve_quotes = True
    notes = []
    for zone in spec.zones_in(region):
        path = next((p for p in (work / "zones").rglob("*.yaml") if _names(p, zone.name)), None)
        if path is None:
            continue
        doc = yaml.load(path.read_text(encoding="utf-8"))
        changed = False
        for assignment in doc["spec"].get("models") or []:
            canary = assignment.get("canary")
            if canary is None:
                continue
            del assignment["canary"]
            changed = True
            if (assignment["model"], str(canary["version"])) in unbuilt:
                notes.append(f"{zone.name}: canary {assignment['model']} {canary['version']} left out (not built)")
        if changed:
            with path.open("w", encoding="utf-8") as out:
                yaml.dump(doc, out)
    return notes


def _names(path: Path, zone: str) -> bool:
    return path.stem == zone
