"""Shared fixtures of the calibration tests: the real TfGM exports in ../shared.

The data folder is :func:`~intergreen.calibration.flows.gm_data_dir`: ``../shared/data/
greater_manchester`` next to the project, or ``$INTERGREEN_GM_DATA`` (e.g. in a git
worktree elsewhere). Missing data skips these tests with the reason in the summary, and fails
them in CI (``require_shared`` in ``tests/conftest.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from intergreen.calibration.flows import gm_data_dir

GM_DATA = gm_data_dir()
TFGM_DIR = GM_DATA / "tfgm_atc_chester_road"

Require = Callable[[Path, str], Path]


@pytest.fixture(scope="session")
def tfgm_1415(require_shared: Require) -> Path:
    return require_shared(TFGM_DIR / "rawpvr_2018_02_01_28d_1415.csv", "shared TfGM data")


@pytest.fixture(scope="session")
def tfgm_1083(require_shared: Require) -> Path:
    return require_shared(TFGM_DIR / "rawpvr_2018_02_01_28d_1083.csv", "shared TfGM data")


@pytest.fixture(scope="session")
def gm_data(require_shared: Require) -> Path:
    return require_shared(GM_DATA, "shared Greater Manchester data")
