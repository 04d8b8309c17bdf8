"""Greedy validation curves of training runs, and when they have converged.

A run trained with validation on (``train(..., validate_every=N)``) holds ``validation.csv``:
one row per validation episode (``step``: the decisions trained when the point was taken;
``episode``, ``seed``, ``demand``, and SUMO's ground-truth metrics of the greedy episode). A
point's **score** is the mean of the run's validation metric (``avg_waiting_time``, s per
vehicle; lower is better) over the point's episodes; the same seeds are played at every point,
so the scores of one run are comparable across steps.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, get_args

import numpy as np
import pandas as pd

from intergreen.agents.config import VALIDATION_METRIC, ValidationScore
from intergreen.agents.rundir import BEST_INFO, VALIDATION_LOG, RunDirError, read_run_record
from intergreen.errors import OptionError

#: The columns of validation.csv, in order.
VALIDATION_FIELDS = (
    "step", "episode", "seed", "demand", "avg_waiting_time", "avg_delay", "throughput",
    "mean_queue", "max_queue", "teleports", "backlog", "vehicles", "reward", "decisions",
)  # fmt: skip


def read_validation(run_dir: str | Path) -> pd.DataFrame:
    """A run's validation.csv, one row per validation episode (columns
    :data:`VALIDATION_FIELDS`); RunDirError when the run has none."""
    path = Path(run_dir) / VALIDATION_LOG
    if not path.exists():
        raise RunDirError(
            f"{run_dir} has no {VALIDATION_LOG}: train it with validation on "
            "(intergreen train --validate-every N)"
        )
    return pd.read_csv(path)


#: Episode values below this count as it in a geometric mean (s per vehicle: a hundredth of a
#: second, far below any wait at a signalised junction; keeps the logarithm finite).
GEOMETRIC_FLOOR = 0.01


def validation_scores(
    rows: pd.DataFrame, metric: str = VALIDATION_METRIC, kind: ValidationScore = "mean"
) -> pd.DataFrame:
    """One row per validation point, by step: ``step``, ``score`` and ``episodes``. The one
    computation of a score, during training and after it.

    ``kind``: ``"mean"``, the arithmetic mean of ``metric`` over the point's episodes, or
    ``"geometric_mean"``, ``exp(mean(log(max(x, GEOMETRIC_FLOOR))))``: each episode counts by
    its relative change, where in the mean one oversaturated episode decides (in the
    convergence check's first runs one validation episode swung between 48 and 95 s across
    checkpoints while the two others stayed at 7-12 s). Both are in the metric's unit (s per
    vehicle for waiting time)."""
    if rows.empty:
        return pd.DataFrame({"step": [], "score": [], "episodes": []})
    if kind not in get_args(ValidationScore):
        raise OptionError(
            f"unknown validation score {kind!r}: use {' or '.join(get_args(ValidationScore))}"
        )
    values = rows[metric].astype(float)
    if kind == "geometric_mean":
        values = np.log(np.maximum(values, GEOMETRIC_FLOOR))
    grouped = values.groupby(rows["step"], sort=True)
    score = grouped.mean() if kind == "mean" else np.exp(grouped.mean())
    frame = pd.DataFrame({"score": score, "episodes": grouped.size()})
    return frame.rename_axis("step").reset_index()


def score_kind(record: dict[str, Any]) -> ValidationScore:
    """The validation score a run was trained with (config.json's ``validation.score_kind``;
    ``"mean"`` for runs made before there was a choice)."""
    return (record.get("validation") or {}).get("score_kind", "mean")


def best_point(scores: pd.DataFrame) -> tuple[int, float] | None:
    """(step, score) of the lowest score (the earliest of equal ones); None without points."""
    if scores.empty:
        return None
    i = int(np.argmin(scores["score"].to_numpy()))  # the first minimum
    return int(scores["step"].iloc[i]), float(scores["score"].iloc[i])


def best_record(run_dir: str | Path) -> dict[str, Any] | None:
    """best.json of a run (``step``, ``score``, ``metric``, ``model``), None when it has no best
    checkpoint (no validation, or none scored yet)."""
    path = Path(run_dir) / BEST_INFO
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise RunDirError(f"{path} is unreadable ({e}); the run folder is left as it is") from None


def validation_curves(run_dirs: Iterable[str | Path]) -> pd.DataFrame:
    """The validation curves of several runs: one row per (run, validation point) with
    ``run`` (the folder's name), ``reward`` (its training reward's name), ``seed`` (its base
    training seed), ``step``, ``score`` (s per vehicle), ``episodes`` and ``score_kind`` (how
    the runs score a point: they must agree, else OptionError); RunDirError for a run without
    validation."""
    frames, kinds = [], {}
    for run_dir in run_dirs:
        record = read_run_record(run_dir)
        kinds[Path(run_dir).name] = kind = score_kind(record)
        if len(set(kinds.values())) > 1:
            raise OptionError(
                "the runs' validation scores differ (" + ", ".join(
                    f"{name}: {k}" for name, k in kinds.items()) + "); compare runs scored alike"
            )  # fmt: skip
        scores = validation_scores(read_validation(run_dir), kind=kind)
        scores["score_kind"] = kind
        config = record["config"]
        reward = config.get("reward")
        scores.insert(0, "seed", config.get("seed"))
        scores.insert(0, "reward", reward.get("name") if isinstance(reward, dict) else reward)
        scores.insert(0, "run", Path(run_dir).name)
        frames.append(scores)
    if not frames:
        raise OptionError("no runs given")
    return pd.concat(frames, ignore_index=True)


def _check_curves(curves: pd.DataFrame, tolerance: float, by: str) -> pd.DataFrame:
    missing = [c for c in (by, "step", "score") if c not in curves]
    if missing:
        raise OptionError(
            f"curves lack the column(s) {', '.join(missing)}; give one row per (seed, step) "
            "with its score (validation_curves gives them)"
        )
    if not np.isfinite(tolerance) or tolerance < 0:
        raise OptionError(f"tolerance must be a finite number >= 0 (0.05 = 5%), got {tolerance}")
    if curves.duplicated([by, "step"]).any():
        raise OptionError(f"curves hold two scores for one ({by}, step); give one per point")
    if (curves["score"] <= 0).any() or curves["score"].isna().any():
        raise OptionError("scores must be positive numbers (waiting times, lower is better)")
    return curves


def _shared_steps(curves: pd.DataFrame, by: str) -> pd.DataFrame:
    """Scores as (step x curve), ascending steps, only the steps every curve has; OptionError
    for bad curves or none shared."""
    _check_curves(curves, 0.0, by)
    table = curves.pivot(index="step", columns=by, values="score").sort_index().dropna()
    if table.empty:

        def first_steps(x: pd.Series) -> str:
            shown = ", ".join(f"{int(v):,}" for v in sorted(x)[:3])
            return shown + (", ..." if len(x) > 3 else "")

        steps = curves.groupby(by, sort=False)["step"].apply(first_steps)
        listed = "; ".join(f"{k}: {v}" for k, v in steps.items())
        raise OptionError(
            f"the curves share no step ({listed}): the median gap compares the seeds of one "
            "configuration at the steps all were validated at; give runs validated at the same "
            "steps (one --validate-every), e.g. the seeds of one agent and reward"
        )
    return table


def median_gap(curves: pd.DataFrame, by: str = "seed") -> pd.Series:
    """The median over seeds of each seed's relative gap to its own best, per step.

    ``curves``: columns ``seed`` (or the column ``by`` that names each curve, e.g. ``run``),
    ``step``, ``score`` (lower is better, > 0). Only the steps
    that every seed has are used (a run stopped early shortens all). For seed ``s`` with
    scores ``x_s(t)`` at those steps, ``best_s = min_t x_s(t)`` and its gap at step ``t`` is
    ``x_s(t) / best_s - 1`` (0 at its best); the result is the median of the gaps across
    seeds, indexed by step (ascending). OptionError for missing columns, repeated points or
    scores that are not positive.
    """
    table = _shared_steps(curves, by)
    gaps = table / table.min(axis=0) - 1.0
    return gaps.median(axis=1).rename("median_gap")


def selection_gap(curves: pd.DataFrame, by: str = "seed") -> pd.DataFrame:
    """What stopping training at each step costs a run that keeps its best checkpoint.

    A run evaluates its best checkpoint by validation, so stopped at step ``t`` it keeps
    ``min_{u <= t} x_s(u)``; its gap to what the whole curve found is
    ``min_{u <= t} x_s(u) / min_u x_s(u) - 1`` (never increasing; 0 from the step of its best
    on). Only the steps every curve has are used, as in :func:`median_gap`.

    Args:
        curves: columns ``by`` (naming each curve: ``seed`` or ``run``), ``step`` (decisions),
            ``score`` (s/veh, > 0, lower is better).
        by: the column naming each curve.

    Returns:
        One row per step (ascending index), one column per curve and ``median`` (the median
        over curves): the relative gaps (0.05 = 5% above the curve's best).

    Raises:
        OptionError: as :func:`median_gap`.
    """
    table = _shared_steps(curves, by)
    gaps = table.cummin() / table.min(axis=0) - 1.0
    gaps["median"] = gaps.median(axis=1)
    return gaps


def convergence_budget(
    curves: pd.DataFrame, tolerance: float = 0.05, *, sustained: bool = False, by: str = "seed"
) -> int | None:
    """The training budget (decisions) at which the median seed is within ``tolerance`` of its
    own best validation score.

    Precisely: with :func:`median_gap`'s gaps ``g_s(t) = x_s(t) / min_u x_s(u) - 1`` of each
    seed ``s`` at the steps ``t`` every seed shares, the budget is the first step ``t`` with
    ``median_s g_s(t) <= tolerance`` (with three seeds: two of them within ``tolerance`` of
    their best). With ``sustained``, the first step from which this holds at every later step
    too (a curve that dips and climbs again has not converged). None when no step qualifies
    (seeds that reach their best at different steps and are far from it elsewhere).

    Args:
        curves: one row per (seed, step): ``seed`` (any label), ``step`` (decisions),
            ``score`` (> 0, lower is better: s per vehicle); :func:`validation_curves` gives it.
        tolerance: the relative gap allowed (0.05 = within 5% of the best), >= 0.
        sustained: require the median gap to stay within ``tolerance`` afterwards.
        by: the column naming each curve (``run`` when several runs share a seed).

    Returns:
        The step, or None.

    Raises:
        OptionError: a missing column, a negative or non-finite ``tolerance``, a repeated
            (seed, step), a score that is not positive, or no step shared by all seeds.
    """
    _check_curves(curves, tolerance, by)
    gap = median_gap(curves, by)
    ok = (gap <= tolerance).to_numpy()
    if sustained:
        ok = np.flip(np.logical_and.accumulate(np.flip(ok)))
    hits = np.flatnonzero(ok)
    return int(gap.index[hits[0]]) if len(hits) else None


__all__ = [
    "VALIDATION_FIELDS",
    "best_point",
    "best_record",
    "convergence_budget",
    "median_gap",
    "read_validation",
    "score_kind",
    "selection_gap",
    "validation_curves",
    "validation_scores",
]
