"""A tiny batch on real SUMO, run once per session and shared (copied) by the tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
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


def _make_results(
    arms: dict[str, list[float]],
    episodes: int = 10,
    episode_sd: float = 1.0,
    baselines: dict[str, float] | None = None,
    demand: str = "low",
    seed: int = 0,
    shared: np.ndarray | None = None,
) -> pd.DataFrame:
    """One row per episode: each agent arm has one training seed per listed seed mean; a
    baseline has one episode per test seed. ``shared`` adds a per-test-seed effect to every
    controller (the demand drawn for that episode), which pairing removes."""
    rng = np.random.default_rng(seed)
    effect = np.zeros(episodes) if shared is None else shared
    sd = episode_sd
    rows = []
    for name, means in arms.items():
        for s, mu in enumerate(means, start=1):
            for e in range(episodes):
                rows.append({"kind": "agent", "controller": name, "reward": name, "agent": "dqn",
                             "train_seed": s, "run_key": f"{name}-{s}", "demand": demand,
                             "eval_seed": 1000 + e, "episode": e,
                             "avg_waiting_time": mu + effect[e] + rng.normal(0, sd)})  # fmt: skip
    for name, mu in (baselines or {}).items():
        for e in range(episodes):
            rows.append({"kind": "baseline", "controller": name, "reward": None, "agent": None,
                         "train_seed": pd.NA, "run_key": "plan", "demand": demand,
                         "eval_seed": 1000 + e, "episode": e,
                         "avg_waiting_time": mu + effect[e] + rng.normal(0, sd)})  # fmt: skip
    df = pd.DataFrame(rows)
    df["train_seed"] = df["train_seed"].astype("Int64")
    return df


@pytest.fixture
def make_results():
    """A synthetic results table (one row per episode) whose right answer is known."""
    return _make_results
