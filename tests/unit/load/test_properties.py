"""Property tests of the loader.

- Round trip: zones generated from the schema's vocabulary, dumped to YAML and loaded back, give equal specs.
- Robustness: random mutations of valid template files (line deletions, duplications, re-indentation, token
  replacement, truncation, byte noise, explicit scalar tags) never crash the loader: each either loads or yields positioned problems.
"""

from __future__ import annotations

import string
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.core.load import SourceFile, SourceTree, load_tree
from reconciler.core.spec import Zone
from tests.fixtures.template_repo import REPO_ROOT

pytestmark = pytest.mark.unit

TEMPLATE: dict[str, bytes] = {
    p.relative_to(REPO_ROOT).as_posix(): p.read_bytes()
    for root in ("fleet", "zones", "models")
    for p in sorted((REPO_ROOT / root).rglob("*.yaml"))
}
CODES_PREFIXES = ("yaml.", "layout.", "document.", "schema.", "ref.", "secret.")

label = st.from_regex(r"[a-z][a-z0-9]{0,6}(-[a-z0-9]{1,4})?", fullmatch=True)
token = st.from_regex(r"[a-z][a-z0-9_-]{0,8}", fullmatch=True)
subject = st.lists(token, min_size=2, max_size=4).map(".".join)
quantity = st.sampled_from(["100m", "250m", "1", "2", "512Mi", "1Gi"])


@st.composite
def zone_documents(draw: st.DrawFn, region: str, index: int) -> dict[str, object]:
    name = f"{draw(label)}-z{index}"
    hardware = draw(
        st.sampled_from(
            [
                {"arch": "amd64", "accelerator": "none"},
                {"arch": "arm64", "accelerator": "none"},
                {"arch": "arm64", "accelerator": "jetson", "fallback": "cpu"},
                {"arch": "amd64", "accelerator": "nvidia-gpu", "fallback": "cpu"},
            ]
        )
    )
    models = []
    for model in draw(st.lists(st.sampled_from(["fraud-scoring", "sensor-anomaly"]), unique=True, max_size=2)):
        # distinct roots: subject trees that contain one another are rejected (their streams would overlap)
        inp, out = f"in.{name}.{model}.{draw(subject)}", f"out.{name}.{model}.{draw(subject)}"
        replicas = draw(st.integers(0, 10))
        assignment: dict[str, object] = {
            "model": model,
            "version": "1.0.0",
            "replicas": replicas,
            "resources": {"cpu": draw(quantity), "memory": draw(quantity)},
            "input": inp,
            "output": out,
        }
        if replicas > 1 or draw(st.booleans()):  # more than one replica needs partitions, at least one each
            assignment["partitions"] = draw(st.integers(max(replicas, 1), 1024))
        if model == "fraud-scoring" and draw(st.booleans()):
            weight = draw(st.sampled_from([10, 25, 50, 100]))
            assignment["canary"] = {
                "version": "1.1.0",
                "weight": weight,
                "policy": draw(st.sampled_from(["standard", "cautious"])),
                "phase": "live",
                "startedAt": "2026-11-27T09:00:00Z",
            }
        models.append(assignment)
    return {
        "apiVersion": "edgeops.io/v1alpha1",
        "kind": "Zone",
        "metadata": {"name": name, "labels": {"site": draw(token)}},
        "spec": {
            "region": region,
            "cluster": {"context": f"k3s-{name}"},
            "hardware": hardware,
            "nats": {"domain": name},
            "paused": draw(st.booleans()),
            "models": models,
        },
    }


def _tree(extra: dict[str, bytes], drop_zones: bool = True) -> SourceTree:
    # ams-01 stays: the template's cautious policy names it in a wave.
    keep = "zones/eu-west/ams-01.yaml"
    files = {k: v for k, v in TEMPLATE.items() if not (drop_zones and k.startswith("zones/") and k != keep)}
    files.update(extra)
    return SourceTree(files=tuple(SourceFile(k, v) for k, v in sorted(files.items())))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_generated_zones_round_trip_through_yaml(data: st.DataObject) -> None:
    zones = [data.draw(zone_documents(region, i)) for i, region in enumerate(["eu-west", "us-east", "eu-west"])]
    files = {f"zones/{z['spec']['region']}/{z['metadata']['name']}.yaml": yaml.safe_dump(z).encode() for z in zones}  # type: ignore[index]
    first = load_tree(_tree(files))
    assert first.spec is not None, "\n".join(map(str, first.problems))
    # dump what was loaded, load it again: the same spec
    dumped = {
        f"zones/{z.spec.region}/{z.name}.yaml": yaml.safe_dump(z.model_dump(mode="json", by_alias=True)).encode()
        for z in first.spec.zones
    }
    second = load_tree(_tree(dumped))
    assert second.spec == first.spec
    assert all(isinstance(z, Zone) for z in second.spec.zones)


def _mutate(text: str, data: st.DataObject) -> str:
    lines = text.splitlines(keepends=True)
    kind = data.draw(st.sampled_from(["delete", "duplicate", "indent", "token", "truncate", "noise", "swap"]))
    i = data.draw(st.integers(0, max(0, len(lines) - 1)))
    if kind == "delete" and lines:
        del lines[i]
    elif kind == "duplicate" and lines:
        lines.insert(i, lines[i])
    elif kind == "indent" and lines:
        lines[i] = data.draw(st.sampled_from(["", " ", "   ", "\t"])) + lines[i].lstrip(" ")
    elif kind == "token" and lines:
        junk = data.draw(st.text(alphabet=string.printable, max_size=12))
        cut = data.draw(st.integers(0, len(lines[i])))
        lines[i] = lines[i][:cut] + junk + lines[i][cut:]
    elif kind == "truncate":
        return text[: data.draw(st.integers(0, len(text)))]
    elif kind == "noise":
        pos = data.draw(st.integers(0, len(text)))
        return (
            text[:pos]
            + data.draw(
                st.sampled_from(
                    [
                        *("&a ", "*a", "!!binary ", "{", "]", ": :", "<<: ", "---\n", "\x00"),
                        *("!!int ", "!!float ", "!!bool ", "!!null ", "!!timestamp "),
                    ]
                )
            )
            + text[pos:]
        )
    elif kind == "swap" and len(lines) > 1:
        j = data.draw(st.integers(0, len(lines) - 1))
        lines[i], lines[j] = lines[j], lines[i]
    return "".join(lines)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_template_files_never_crash_the_loader(data: st.DataObject) -> None:
    path = data.draw(st.sampled_from(sorted(TEMPLATE)))
    mutated = TEMPLATE[path].decode()
    for _ in range(data.draw(st.integers(1, 3))):
        mutated = _mutate(mutated, data)
    result = load_tree(_tree({path: mutated.encode("utf-8", "surrogateescape")}, drop_zones=False))
    if result.spec is None:
        assert result.errors, "no spec means at least one error"
    for problem in result.problems:
        assert problem.code.startswith(CODES_PREFIXES), problem
        assert problem.file in TEMPLATE or problem.file.startswith(("zones/", "fleet/", "models/"))
        assert problem.line >= 0
        assert problem.column >= 0
        assert problem.message


def test_template_files_are_known() -> None:
    assert Path(REPO_ROOT / "fleet/fleet.yaml").exists()
    assert "fleet/fleet.yaml" in TEMPLATE
