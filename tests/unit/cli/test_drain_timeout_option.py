"""`--drain-timeout` of `edgeops apply` and `edgeops reconcile` (and the loop's `--interval`): a positive duration
reaches the pass's NATS options in seconds; anything else is a usage error naming the option, before anything is
loaded or applied."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from reconciler.app import reconcile
from reconciler.app.reconcile import RegionOptions, RegionPass
from reconciler.cli.main import app
from reconciler.core.load import LoadResult

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(("given", "seconds"), [("90s", 90.0), ("5m", 300.0), ("1h", 3600.0)])
def test_apply_passes_the_drain_timeout_to_the_nats_step(
    given: str, seconds: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[RegionOptions] = []

    async def fake_apply_region(load: LoadResult, region: str, options: RegionOptions, *_: Any, **__: Any) -> Any:
        seen.append(options)
        return RegionPass(zones=())

    monkeypatch.setattr(reconcile, "apply_region", fake_apply_region)
    args = ["apply", "--region", "eu-west", "--repo", str(REPO), "--nats", "nats://127.0.0.1:4222"]
    result = CliRunner().invoke(app, [*args, "--drain-timeout", given])

    assert result.exit_code == 0, result.output
    assert seen[0].nats is not None
    assert seen[0].nats.drain_timeout_s == seconds


@pytest.mark.parametrize(
    ("command", "option"), [("apply", "--drain-timeout"), ("reconcile", "--drain-timeout"), ("reconcile", "--interval")]
)
@pytest.mark.parametrize("given", ["soon", "0s", "-5m", "5 minutes", ""])
def test_a_bad_duration_is_a_usage_error_naming_it(command: str, option: str, given: str) -> None:
    """Without `--nats` too: a bad value is refused, not ignored until the day `--nats` is added."""
    args = [command, "--region", "eu-west", "--repo", str(REPO), option, given]
    result = CliRunner().invoke(app, args)

    assert result.exit_code == 2, result.output
    assert option in result.output
