"""`edgeops sandbox check` end to end against real local control planes (one per zone of the region): the first pass
creates every object, the second writes nothing; state survives into a second sandbox run (SQLite-backed kine)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reconciler.cli.main import app
from reconciler.sandbox.localkube import KubeBinaries

pytestmark = pytest.mark.integration

STEADY = re.compile(r"\+0 ~0 =\d+ -0")


def _second_pass(output: str) -> str:
    assert "reconcile pass 2" in output, output
    return output.split("reconcile pass 2", 1)[1]


@pytest.mark.timeout(600)
def test_sandbox_reconciles_a_region_and_reaches_a_steady_state(
    kube_binaries: KubeBinaries, template_fleet: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    state = tmp_path / "state"
    args = ["sandbox", "check", str(template_fleet), "--region", "eu-west", "--state-dir", str(state), "--no-dataplane"]

    first = runner.invoke(app, args, terminal_width=200)
    assert first.exit_code == 0, first.output
    pass_one = first.output.split("reconcile pass 1", 1)[1].split("reconcile pass 2", 1)[0]
    assert re.search(r"ams-01 .*\+1[0-9] ~0", pass_one), pass_one  # everything created
    assert len(STEADY.findall(_second_pass(first.output))) == 3, first.output

    again = runner.invoke(app, args, terminal_width=200)
    assert again.exit_code == 0, again.output
    pass_one_again = again.output.split("reconcile pass 1", 1)[1].split("reconcile pass 2", 1)[0]
    assert len(STEADY.findall(pass_one_again)) == 3, "state persisted: nothing to create on the next run"
