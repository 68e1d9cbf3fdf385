"""The `edgeops` command list is lazy: `edgeops serve` runs in an install with only the `runtime` extra (the runtime
image), where the reconciler's libraries are absent; every command stays listed and every command's --help works
with everything installed; without the reconciler extra its commands say which extra they need."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reconciler.cli.main import COMMANDS, EXIT_UNAVAILABLE, app

pytestmark = pytest.mark.unit
REPO = Path(__file__).resolve().parents[3]
# The reconciler extra's libraries that the runtime extra does not bring.
RECONCILER_ONLY = ("kubernetes", "pygit2", "github3", "yaml", "prometheus_api_client", "onnx")

# Runs `edgeops ARGS...` with the reconciler-only libraries made unimportable, then reports on stderr which of them,
# and which reconciler layers below the CLI, were imported.
_WITHOUT_RECONCILER_EXTRA = textwrap.dedent(
    """
    import sys
    from importlib.abc import MetaPathFinder

    BLOCKED = set(sys.argv[1].split(","))

    class Absent(MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, Absent())
    sys.argv = ["edgeops", *sys.argv[2:]]
    from reconciler.cli.main import main
    try:
        main()
    finally:
        below_cli = ("reconciler.app", "reconciler.shells", "reconciler.core")
        loaded = sorted(m for m in sys.modules if m.partition(".")[0] in BLOCKED or m.startswith(below_cli))
        print("imported:", ",".join(loaded), file=sys.stderr)
    """
)


def edgeops_without_reconciler_extra(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _WITHOUT_RECONCILER_EXTRA, ",".join(RECONCILER_ONLY), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)},
    )


def test_serve_help_needs_no_reconciler_library() -> None:
    result = edgeops_without_reconciler_extra("serve", "--help")
    assert result.returncode == 0, result.stderr
    assert "--config" in result.stdout
    assert result.stderr.strip() == "imported:"


def test_command_list_without_reconciler_extra_names_every_command() -> None:
    result = edgeops_without_reconciler_extra("--help")
    assert result.returncode == 0, result.stderr
    for name in COMMANDS:
        assert name in result.stdout
    assert "needs the reconciler extra" in result.stdout
    assert "Serve the configured models" in result.stdout


def test_reconciler_command_without_its_extra_says_what_to_install() -> None:
    result = edgeops_without_reconciler_extra("validate", ".")
    assert result.returncode == EXIT_UNAVAILABLE
    assert "edgeops validate needs the reconciler extra (pip install 'edgeops[reconciler]')" in result.stderr
    assert "Traceback" not in result.stderr


def test_every_command_is_listed_with_its_own_help() -> None:
    listing = CliRunner().invoke(app, ["--help"], terminal_width=200)
    assert listing.exit_code == 0, listing.output
    assert "needs the reconciler extra" not in listing.output
    for name in COMMANDS:
        assert name in listing.output
        result = CliRunner().invoke(app, [name, "--help"], terminal_width=200)
        assert result.exit_code == 0, result.output
        assert f"edgeops {name}" in result.output


def test_unknown_command_is_a_usage_error_with_a_suggestion() -> None:
    result = CliRunner().invoke(app, ["valdate"])
    assert result.exit_code == 2
    assert "Did you mean 'validate'?" in result.output
