"""The error boundary of `edgeops bot ...` and `edgeops canary run`: each error of the forge's tree — a refused
request (`ForgeInvalid`, with GitHub's errors) and an existing pull request (`PullRequestExists`) included — ends
the command with its message on stderr and exit 1, never a traceback."""

from __future__ import annotations

import pytest
import typer

from reconciler.cli.gitops import guarded
from reconciler.cli.options import EXIT_ERROR
from reconciler.shells.forge import ForgeError, ForgeInvalid, PullRequestExists

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "error",
    [
        ForgeInvalid(
            "open a pull request from edgeops/canary/all/fraud-scoring: 422 Validation Failed; PullRequest.body "
            "(custom): body is too long (maximum is 65536 characters)",
            message="Validation Failed",
            errors=({"resource": "PullRequest", "field": "body", "code": "custom"},),
        ),
        PullRequestExists("open a pull request from x: 422 Validation Failed; A pull request already exists"),
        ForgeError("the pull request from x was neither found nor created"),
    ],
)
def test_forge_errors_end_the_command_with_their_message(error: ForgeError, capsys: pytest.CaptureFixture[str]) -> None:
    @guarded
    def command() -> None:
        raise error

    with pytest.raises(typer.Exit) as raised:
        command()
    assert raised.value.exit_code == EXIT_ERROR
    assert capsys.readouterr().err == f"error: {error}\n"
