"""Seeds added where they decide something: the grid's ``more_seeds`` rule, on validation scores.

Issue 16, item 9: at least 10 training seeds for every reward whose 5-seed mean is within 30%
of the best, at least 5 for the rest. A grid says so with::

    seeds: [1, 2, 3, 4, 5]
    more_seeds: {seeds: [6, 7, 8, 9, 10], within: 0.30}

Once every run of the grid's ``seeds`` has finished training, each run's **best validation
score** is read from its ``best.json`` (intergreen.agents.validation: the lowest, over the run's
validation points, of the mean or geometric mean, as the run was configured, of
``avg_waiting_time`` over the point's validation episodes, s per vehicle; lower is better). Per
agent and training demand, with ``m_r`` the mean over seeds of reward ``r``'s scores and ``best
= min_r m_r``, reward ``r`` gets the seeds of ``more_seeds`` when ``m_r <= (1 + within) * best``
(its relative gap ``m_r / best - 1`` is at most ``within``; the best reward itself always
qualifies). Only validation episodes decide: test episodes are never read here (docs/design.md,
experiment protocol).

The decision is written to ``OUT/seed_extension.json`` (:data:`EXTENSION_FILE`) with the score
of every run it used, so the report states which rewards got more seeds and why; it is
recomputed from the run folders on every batch (the same finished runs give the same
decision), and waits, naming the runs, while a first-phase run is unfinished or failed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from intergreen.agents.config import VALIDATION_METRIC
from intergreen.agents.curves import best_record
from intergreen.common import atomic_write, read_json
from intergreen.errors import IntergreenError
from intergreen.experiments.grid import GridConfig, RunCell

#: The decision's file in a results folder (published with the report).
EXTENSION_FILE = "seed_extension.json"
DECIDED, WAITING = "decided", "waiting"


class SeedExtensionError(IntergreenError, ValueError):
    """A first-phase run whose validation record cannot serve the decision."""


@dataclass
class SeedDecision:
    """The ``more_seeds`` decision of a grid.

    ``status``: ``decided``, or ``waiting`` while the runs named in ``missing`` have not
    finished training. ``rewards``: one mapping per (agent, train_demand, reward): ``seeds``
    and ``scores`` (each first-phase run's best validation score, s/veh), ``mean``, ``best``
    (the lowest mean of its agent and demand), ``best_reward``, ``gap`` (``mean / best - 1``)
    and ``extended`` (whether it trains on ``added`` too)."""

    status: str
    within: float
    first: list[int]
    added: list[int]
    metric: str = VALIDATION_METRIC
    rewards: list[dict[str, Any]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def extended(self) -> set[tuple[str, str, str]]:
        """(reward label, agent, training demand label) of every reward given more seeds."""
        if self.status != DECIDED:
            return set()
        return {(r["reward"], r["agent"], r["train_demand"]) for r in self.rewards if r["extended"]}

    def to_json(self) -> dict[str, Any]:
        rule = (
            f"a reward trains on seeds {self.added} too when the mean over seeds {self.first} "
            f"of its runs' best validation score ({self.metric}, s/veh, lower is better) is at "
            f"most (1 + {self.within:g}) x the lowest such mean of its agent and training demand"
        )
        return {"rule": rule, **asdict(self)}


def select_rewards(scores: pd.DataFrame, within: float) -> pd.DataFrame:
    """The ``more_seeds`` selection on a table of scores.

    Args:
        scores: one row per first-phase run: ``agent``, ``train_demand``, ``reward``, ``seed``,
            ``score`` (its best validation score; lower is better, >= 0).
        within: the relative margin (0.3: a mean at most 1.3 x the best mean), >= 0.

    Returns:
        One row per (agent, train_demand, reward), in the order first met: ``seeds``,
        ``scores`` (lists), ``mean``, ``best``, ``best_reward``, ``gap`` (``mean / best - 1``;
        0 when both are 0, inf when only the best is 0) and ``extended``
        (``mean <= (1 + within) * best``, up to float rounding).

    Raises:
        SeedExtensionError: a negative or missing score, or a negative ``within``.
    """
    if not within >= 0:
        raise SeedExtensionError(f"within must be >= 0 (0.3 = within 30%), got {within}")
    values = scores["score"].to_numpy(dtype=float)
    if not np.isfinite(values).all() or (values < 0).any():
        raise SeedExtensionError(
            "validation scores must be finite waiting times >= 0 (s/veh); got "
            f"{sorted(set(values[~(np.isfinite(values) & (values >= 0))].tolist()))}"
        )
    keys = ["agent", "train_demand", "reward"]
    per = scores.groupby(keys, sort=False).agg(
        seeds=("seed", list), scores=("score", list), mean=("score", "mean")
    )
    per = per.reset_index()
    groups = per.groupby(["agent", "train_demand"], sort=False)
    per["best"] = groups["mean"].transform("min")
    best_reward = {k: g.loc[g["mean"].idxmin(), "reward"] for k, g in groups}  # first of ties
    group_keys = zip(per["agent"], per["train_demand"], strict=True)
    per["best_reward"] = [best_reward[k] for k in group_keys]
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = np.where(per["best"] > 0, per["mean"] / per["best"] - 1.0, 0.0)
    gap = np.where((per["best"] == 0) & (per["mean"] > 0), np.inf, gap)
    per["gap"] = gap
    bound = (1.0 + within) * per["best"]
    per["extended"] = (per["mean"] <= bound) | np.isclose(per["mean"], bound, rtol=1e-12, atol=0)
    return per


def run_score(run_dir: Path) -> float | None:
    """A finished run's best validation score (best.json), None while it has not finished
    training (no done.json). SeedExtensionError for a finished run without best.json or with
    another metric."""
    if not (run_dir / "done.json").exists():
        return None
    best = best_record(run_dir)
    if best is None:
        raise SeedExtensionError(
            f"{run_dir} finished training without a best validation score (best.json): it was "
            "trained without validation; remove the folder and re-run the batch"
        )
    if best.get("metric") != VALIDATION_METRIC:
        raise SeedExtensionError(
            f"{run_dir / 'best.json'}: scored on {best.get('metric')!r}, not {VALIDATION_METRIC}"
            "; remove the folder and re-run the batch"
        )
    return float(best["score"])


def decide(grid: GridConfig, folder_of: Callable[[RunCell], Path]) -> SeedDecision | None:
    """The ``more_seeds`` decision from the first-phase runs (``folder_of(cell)`` is a cell's
    run folder); None when the grid has no ``more_seeds``."""
    more = grid.more_seeds
    if more is None:
        return None
    decision = SeedDecision(WAITING, more.within, list(grid.seeds), list(more.seeds))
    rows = []
    for cell in grid.cells():
        folder = folder_of(cell)
        score = run_score(folder)
        if score is None:
            decision.missing.append(folder.name)
            continue
        rows.append({"agent": cell.agent_label, "train_demand": cell.demand_label,
                     "reward": cell.reward_label, "seed": cell.seed, "score": score})  # fmt: skip
    if decision.missing:
        return decision
    table = select_rewards(pd.DataFrame(rows), more.within)
    decision.status = DECIDED
    decision.rewards = [
        {k: (v.item() if isinstance(v, np.generic) else v) for k, v in r.items()}
        for r in table.to_dict("records")
    ]
    return decision


def extension_cells(grid: GridConfig, decision: SeedDecision | None) -> list[RunCell]:
    """The added runs: the cells of ``more_seeds.seeds`` for the rewards the decision
    extends (none while it waits)."""
    if grid.more_seeds is None or decision is None:
        return []
    chosen = decision.extended()
    return [
        c for c in grid.cells(grid.more_seeds.seeds)
        if (c.reward_label, c.agent_label, c.demand_label) in chosen
    ]  # fmt: skip


def write_decision(out: Path, decision: SeedDecision) -> None:
    """``out/seed_extension.json``."""
    text = json.dumps(decision.to_json(), indent=2, default=str, allow_nan=True)
    atomic_write(Path(out) / EXTENSION_FILE, text)


def read_decision(root: Path) -> dict[str, Any] | None:
    """A results folder's seed_extension.json as a mapping, None when absent or unreadable."""
    payload = read_json(Path(root) / EXTENSION_FILE)
    return payload if isinstance(payload, dict) else None
