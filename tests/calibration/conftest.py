"""Shared fixtures of the calibration tests: the real TfGM exports in ../shared."""

from __future__ import annotations

from pathlib import Path

import pytest

GM_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "greater_manchester"
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
