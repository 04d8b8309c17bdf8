"""Fixtures for every test folder."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest


def in_ci() -> bool:
    """True when the tests run in CI (the environment variable ``CI`` set to true)."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def require_shared() -> Callable[[Path, str], Path]:
    """``require(path, what)``: the shared data ``path`` (../shared next to the repository),
    or a skip naming what is missing; in CI a failure, so that no test there is lost
    silently to a missing data folder."""

    def require(path: Path, what: str) -> Path:
        if path.exists():
            return path
        message = (
            f"{what} not found at {path}: put the shared data in ../shared next to the "
            "repository, or point INTERGREEN_GM_DATA at data/greater_manchester"
        )
        if in_ci():
            pytest.fail(f"{message} (CI=true: CI must run every test)", pytrace=False)
        pytest.skip(message)

    return require


@pytest.fixture(autouse=True)
def _no_reward_modules_left_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    """``--reward-module`` adds its modules to ``$INTERGREEN_REWARD_MODULES`` for the worker
    processes; a test that uses it must not leave them to the next test in its process (whose
    registry would try to import a module from another test's temporary folder)."""
    monkeypatch.delenv("INTERGREEN_REWARD_MODULES", raising=False)
