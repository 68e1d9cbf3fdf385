"""Test-suite wiring: every module in tests/fixtures/ is a pytest plugin (fixtures shared across tiers)."""

from __future__ import annotations

from pathlib import Path

import pytest

# Fixture modules import each other; registering the package first lets pytest rewrite asserts in all of them.
pytest.register_assert_rewrite("tests.fixtures")

pytest_plugins = sorted(
    f"tests.fixtures.{path.stem}"
    for path in (Path(__file__).parent / "fixtures").glob("*.py")
    if path.stem != "__init__"
)
