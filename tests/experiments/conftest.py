"""A tiny batch on real SUMO, run once per session and shared (copied) by the tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

TINY: dict = {
    "name": "tiny",
    "junction": "gm_a56",
    "rewards": ["queue", "average_speed"],
    "agents": {"dqn": {"hyperparams": {"learning_starts": 100}}},
    "train_demands": ["mixed"],
    "seeds": [1],
    "training": {"timesteps": 300, "checkpoint_every": 150},
    "evaluation": {"demands": ["low", "high"], "episodes": 2},
    "baselines": ["max-occupancy"],
    "episode_duration": 60,
}


@pytest.fixture
def tiny_cfg() -> dict:
    """The tiny grid as a mapping (a deep copy, free to change)."""
    import copy

    return copy.deepcopy(TINY)


@pytest.fixture(scope="session")
def tiny_grid():
    from intergreen.experiments.grid import load_grid

    return load_grid(TINY)


@pytest.fixture(scope="session")
def tiny_batch(tiny_grid, tmp_path_factory):
    """(out folder, summary) of the tiny grid run with 2 local workers."""
    from intergreen.experiments.executors import LocalExecutor
    from intergreen.experiments.runner import run_batch

    out = tmp_path_factory.mktemp("batch") / "out"
    summary = run_batch(tiny_grid, out, LocalExecutor(2))
    assert summary.ok, summary.failed
    return out, summary


@pytest.fixture
def batch_copy(tiny_batch, tmp_path) -> Path:
    """A private copy of the tiny batch's folder, for tests that change it."""
    dst = tmp_path / "copy"
    shutil.copytree(tiny_batch[0], dst)
    return dst
