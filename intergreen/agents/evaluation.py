"""Evaluate controllers (trained agents and baselines) on held-out seeds.

Every controller meets the same episodes: seed ``EVAL_SEED_BASE + i`` for
episode ``i`` at every demand level, so comparisons are paired, and no
evaluation seed is ever a training seed. The study's protocol is 100
episodes per demand level (``episodes=STUDY_EPISODES``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from intergreen.agents.training import EVAL_SEED_BASE
from intergreen.errors import OptionError
from intergreen.workers import CrashSafePool

STUDY_EPISODES = 100


def evaluation_seeds(episodes: int, offset: int = 0) -> list[int]:
    if episodes < 1:
        raise OptionError(f"episodes must be >= 1, got {episodes}")
    return [EVAL_SEED_BASE + offset + i for i in range(episodes)]


def _policy_and_env_kwargs(controller: Any) -> tuple[Any, dict[str, Any]]:
    from intergreen.junctions.baselines import is_baseline, make_baseline

    if not isinstance(controller, str | Path):
        return controller, getattr(controller, "env_kwargs", {})
    name = str(controller)
    if is_baseline(name):
        policy = make_baseline(name)  # the program baseline asks for signals="program"
        return policy, dict(getattr(policy, "env_kwargs", {}))
    from intergreen.agents.policy import load_policy

    policy = load_policy(name)
    return policy, policy.env_kwargs


def _run(task: tuple[Any, str, str, int, float | None, Any]) -> dict[str, Any]:
    from intergreen.agents.torch_setup import configure_torch

    configure_torch()
    from intergreen.junctions.env import make_env
    from intergreen.junctions.rollout import run_episode

    controller, junction, demand, seed, duration, reward = task
    policy, env_kwargs = _policy_and_env_kwargs(controller)
    env = make_env(junction, demand, reward, seed=seed, duration=duration, **env_kwargs)
    result = run_episode(env, policy, seed)
    row = result.row()
    row["controller"] = _label(controller, policy)
    row["demand"] = demand
    return row


def _label(controller: Any, policy: Any) -> str:
    if isinstance(controller, str | Path) and Path(controller).exists():
        return Path(controller).name if Path(controller).is_dir() else Path(controller).stem
    return getattr(policy, "name", str(controller))


def evaluate(
    controllers: Any | Sequence[Any],
    junction: str = "gm_a56",
    demands: Sequence[str] = ("low", "medium", "high"),
    episodes: int = 20,
    seeds: Sequence[int] | None = None,
    *,
    duration: float | None = None,
    reward: Any = None,
    workers: int = 1,
) -> pd.DataFrame:
    """Run each controller on the same held-out episodes; one row per episode.

    Every controller meets the same seeds at every demand level (paired comparisons), and no
    evaluation seed is a training seed.

    Args:
        controllers: run folders, model zips, baseline names (``"vehicle-actuated"``, ...) or
            Policy objects (objects only with ``workers=1``); one or a sequence.
        junction: a shipped junction name or a junction YAML path.
        demands: demand levels or totals (e.g. ``"medium"``: 2117 veh/h on gm_a56).
        episodes: episodes per demand level (>= 1); the study's protocol is 100.
        seeds: the episodes' seeds (default: ``episodes`` evaluation seeds from 1e9 up).
        duration: simulated seconds per episode (default: the demand's, 1800 s).
        reward: also sum this reward per episode (column ``reward``).
        workers: worker processes (one SUMO simulation each).

    Returns:
        A DataFrame with one row per (controller, demand, episode): ``controller``,
        ``demand``, ``seed`` and SUMO's ground-truth metrics (``avg_waiting_time`` and
        ``avg_delay`` in s per vehicle, ``throughput`` in vehicles, queues, ...).

    Raises:
        OptionError: ``episodes`` < 1 or an unknown baseline.
        RunDirError: a run folder without a readable model.
    """
    if isinstance(controllers, str | Path) or not isinstance(controllers, Sequence):
        controllers = [controllers]
    seeds = list(seeds) if seeds is not None else evaluation_seeds(episodes)
    tasks = [
        (c, junction, d, s, duration, reward) for c in controllers for d in demands for s in seeds
    ]
    if workers == 1:
        return pd.DataFrame([_run(t) for t in tasks])
    rows: list[dict[str, Any]] = [{} for _ in tasks]
    with CrashSafePool(workers) as pool:  # an episode whose worker dies runs again, alone
        for i, task in enumerate(tasks):
            pool.submit(i, _run, task)
        while pool.pending:
            for outcome in pool.wait():
                if outcome.error is not None:
                    raise outcome.error
                rows[int(outcome.tag)] = outcome.result  # type: ignore[call-overload]
    return pd.DataFrame(rows)


def summary_table(results: pd.DataFrame, metric: str = "avg_waiting_time") -> pd.DataFrame:
    """mean ± std of a metric: rows = controllers, columns = demand levels."""
    grouped = results.groupby(["controller", "demand"], sort=False)[metric]
    stats = grouped.agg(["mean", "std", "count"]).reset_index()
    stats["cell"] = [
        f"{m:.2f} ± {0.0 if pd.isna(s) else s:.2f}"
        for m, s in zip(stats["mean"], stats["std"], strict=True)
    ]
    order = list(dict.fromkeys(results["demand"]))
    table = stats.pivot(index="controller", columns="demand", values="cell")[order]
    return table.loc[list(dict.fromkeys(results["controller"]))]
