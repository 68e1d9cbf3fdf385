"""`edgeops validate` / `schema` / `sandbox` as a user runs them: exit codes (0 valid, 1 invalid, 2 usage or I/O),
the three output formats, GitHub annotation escaping (a message cannot inject a second workflow command), a
timestamp without a time zone reported with its position and code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reconciler.cli.main import app
from reconciler.cli.validate import github_annotation
from reconciler.core.load import Problem

pytestmark = pytest.mark.unit
runner = CliRunner()


def test_valid_template_exits_zero(template_fleet: Path) -> None:
    result = runner.invoke(app, ["validate", str(template_fleet)])
    assert result.exit_code == 0, result.output
    assert "valid: 2 regions" in result.output


def test_invalid_fleet_exits_one_with_positions(template_fleet: Path) -> None:
    zone = template_fleet / "zones/eu-west/lis-03.yaml"
    zone.write_text(zone.read_text(encoding="utf-8").replace("replicas: 1", "replicas: many"), encoding="utf-8")
    result = runner.invoke(app, ["validate", str(template_fleet), "--format", "json"])
    assert result.exit_code == 1
    payload = json.loads(result.output)
    assert payload["valid"] is False
    problem = next(p for p in payload["problems"] if p["severity"] == "error")
    assert problem["file"] == "zones/eu-west/lis-03.yaml"
    assert problem["code"] == "schema.wrong-type"
    assert problem["line"] > 0
    assert problem["column"] > 0


def test_github_format_prints_annotations(template_fleet: Path) -> None:
    (template_fleet / "zones/eu-west/lis-03.yaml").write_text("kind: [\n", encoding="utf-8")
    result = runner.invoke(app, ["validate", str(template_fleet), "--format", "github"])
    assert result.exit_code == 1
    assert "::error file=zones/eu-west/lis-03.yaml,line=2,col=1,title=yaml.syntax::" in result.output


def test_a_timestamp_without_a_time_zone_is_reported_at_its_position(template_fleet: Path) -> None:
    zone = template_fleet / "zones/eu-west/ams-01.yaml"
    text = zone.read_text(encoding="utf-8")
    zone.write_text(text.replace('startedAt: "2026-11-27T09:00:00Z"', "startedAt: 2026-11-27 09:00:00"), "utf-8")
    result = runner.invoke(app, ["validate", str(template_fleet)])
    assert result.exit_code == 1
    assert (
        "zones/eu-west/ams-01.yaml:41:20: error[schema.naive-timestamp] spec.models[0].canary.startedAt: "
        "'2026-11-27 09:00:00' has no time zone" in result.output
    )


def test_io_error_exits_two(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(tmp_path / "nope")])
    assert result.exit_code == 2
    result = runner.invoke(app, ["validate", str(tmp_path), "--rev", "HEAD"])
    assert result.exit_code == 2


def test_validate_reads_a_commit(template_git_repo: object) -> None:
    path, sha = template_git_repo()  # type: ignore[operator]
    result = runner.invoke(app, ["validate", str(path), "--rev", sha, "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["revision"] == sha


def test_annotation_message_cannot_inject_commands() -> None:
    hostile = Problem("zones/a,b.yaml", 3, 4, "schema.invalid-value", "bad\n::error file=x::owned %0A")
    line = github_annotation(hostile)
    # one line: the runner reads everything after the second '::' as message text
    assert "\n" not in line
    assert (
        line
        == "::error file=zones/a%2Cb.yaml,line=3,col=4,title=schema.invalid-value::bad%0A::error file=x::owned %250A"
    )


def test_schema_check_reports_stale_files(tmp_path: Path) -> None:
    assert runner.invoke(app, ["schema", "--out", str(tmp_path)]).exit_code == 0
    assert runner.invoke(app, ["schema", "--out", str(tmp_path), "--check"]).exit_code == 0
    (tmp_path / "zone.schema.json").write_text("{}", encoding="utf-8")
    stale = runner.invoke(app, ["schema", "--out", str(tmp_path), "--check"])
    assert stale.exit_code == 1
    assert "zone.schema.json" in stale.output


def test_sandbox_summarises_the_fleet(template_fleet: Path) -> None:
    result = runner.invoke(app, ["sandbox", "check", str(template_fleet), "--no-clusters"])
    assert result.exit_code == 0, result.output
    assert "ams-01" in result.output
    assert "1.1.0" in result.output
