"""Shared fixtures of the calibration tests: the real TfGM exports in ../shared.

The data folder is :func:`~intergreen.calibration.flows.gm_data_dir`: ``../shared/data/
greater_manchester`` next to the project, or ``$INTERGREEN_GM_DATA`` (e.g. in a git
worktree elsewhere).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from intergreen.calibration.flows import gm_data_dir

GM_DATA = gm_data_dir()
TFGM_DIR = GM_DATA / "tfgm_atc_chester_road"


@pytest.fixture(scope="session")
def tfgm_1415() -> Path:
    path = TFGM_DIR / "rawpvr_2018_02_01_28d_1415.csv"
    if not path.is_file():
        pytest.skip(f"shared TfGM data not found at {path}")
    return path


@pytest.fixture(scope="session")
def tfgm_1083() -> Path:
    path = TFGM_DIR / "rawpvr_2018_02_01_28d_1083.csv"
    if not path.is_file():
        pytest.skip(f"shared TfGM data not found at {path}")
    return path


@pytest.fixture(scope="session")
def gm_data() -> Path:
    if not GM_DATA.is_dir():
        pytest.skip(f"shared Greater Manchester data not found at {GM_DATA}")
    return GM_DATA
