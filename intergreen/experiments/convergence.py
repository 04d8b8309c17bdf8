"""A report's convergence evidence: the check that chose its training budget.

Before a study trains at a budget, a convergence check (a grid such as ``convergence.yaml``)
trains a few rewards and seeds far beyond it, validating the greedy policy at regular steps;
``intergreen validation-curve`` reads its curves and the budget is the step at which the median
seed is within a tolerance of its own best (:func:`intergreen.agents.curves.convergence_budget`).
``intergreen report RESULTS --convergence CHECK`` attaches the check's curves to a report:

- ``CHECK`` is the check's batch folder (its ``runs/*/`` with ``validation.csv``), a folder
  holding ``convergence_curves.csv`` (a report published with it), or a CSV written by
  ``intergreen validation-curve ... --output`` (columns ``run, reward, seed, step, score``;
  ``score_kind`` where known);
- the curves are copied into the results folder as ``convergence_curves.csv``, with
  ``convergence.json`` (the source as given and the tolerance), so that the report, and a
  published copy of it, are rebuilt without the check's runs;
- the report opens with a section generated from them (:func:`convergence_blocks`): per reward
  the runs, the steps validated, each run's best score, the first step within the tolerance
  (and the step from which it stays within), the largest of those steps, and how the report's
  own runs' budget compares with it.

Errors: :class:`ConvergenceError` (a source without curves, curves without the columns).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from intergreen.common import atomic_write, span
from intergreen.errors import IntergreenError
from intergreen.experiments.plots import convergence_figure
from intergreen.experiments.provenance import counted
from intergreen.experiments.render import Block

CURVES_FILE = "convergence_curves.csv"
META_FILE = "convergence.json"
COLUMNS = ("run", "reward", "seed", "step", "score")


class ConvergenceError(IntergreenError, ValueError):
    """A convergence source the report cannot use; the message names it and the fix."""


def curves_from(source: str | Path) -> pd.DataFrame:
    """The scored validation curves of a convergence check (see the module docstring): one
    row per (run, step) with ``run, reward, seed, step, score`` (s/veh) and, where known,
    ``episodes`` and ``score_kind``."""
    from intergreen.agents.curves import validation_curves

    path = Path(source)
    hint = (
        "give the check's batch folder (runs/*/validation.csv), a published report holding "
        f"{CURVES_FILE}, or a CSV from `intergreen validation-curve RUNS --output FILE`"
    )
    if path.is_dir():
        runs = sorted(p.parent for p in path.glob("runs/*/validation.csv"))
        if runs:
            curves = validation_curves(runs)
        elif (path / CURVES_FILE).is_file():
            curves = pd.read_csv(path / CURVES_FILE)
        else:
            raise ConvergenceError(f"--convergence {path}: no validation curves there; {hint}")
    elif path.is_file():
        try:
            curves = pd.read_csv(path)
        except (OSError, ValueError, pd.errors.ParserError) as e:
            raise ConvergenceError(
                f"--convergence {path}: not a readable CSV ({e}); {hint}"
            ) from None
    else:
        raise ConvergenceError(f"--convergence {path}: no such file or folder; {hint}")
    missing = [c for c in COLUMNS if c not in curves]
    if missing:
        raise ConvergenceError(
            f"--convergence {path}: the curves lack {', '.join(missing)}; {hint}"
        )
    if curves.empty:
        raise ConvergenceError(f"--convergence {path}: no validation points; {hint}")
    return curves


def attach(results_dir: str | Path, source: str | Path, tolerance: float) -> None:
    """Copy a check's curves into ``results_dir`` (``convergence_curves.csv`` and
    ``convergence.json``); ConvergenceError for a bad source or tolerance."""
    if not tolerance >= 0:
        raise ConvergenceError(f"--convergence-tolerance {tolerance}: must be >= 0 (0.05 = 5%)")
    curves = curves_from(source)
    root = Path(results_dir)
    atomic_write(root / CURVES_FILE, curves.to_csv(index=False))
    meta = {"source": str(source), "tolerance": float(tolerance)}
    atomic_write(root / META_FILE, json.dumps(meta, indent=2) + "\n")


def read(results_dir: str | Path) -> tuple[pd.DataFrame, dict[str, Any]] | None:
    """The attached curves and their meta (source, tolerance), or None."""
    root = Path(results_dir)
    if not (root / CURVES_FILE).is_file():
        return None
    meta_path = root / META_FILE
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    return pd.read_csv(root / CURVES_FILE), {"tolerance": 0.05, **meta}


def evidence(curves: pd.DataFrame, tolerance: float) -> pd.DataFrame:
    """One row per reward: ``reward``, ``runs``, ``seeds``, ``last_step`` (the last step all
    its runs share), ``every`` (the usual distance between validation steps), ``best`` (each
    run's lowest score and its step), ``budget`` and ``sustained`` (convergence_budget's first
    step within ``tolerance``, and the first from which it stays within; None for none)."""
    from intergreen.agents.curves import convergence_budget, median_gap

    rows = []
    for reward, group in curves.groupby("reward", sort=False):
        gap = median_gap(group, by="run")
        steps = pd.Series(gap.index)
        best = []
        for run, g in group.groupby("run", sort=False):
            i = g["score"].idxmin()
            best.append((str(run), int(g.loc[i, "seed"]), float(g.loc[i, "score"]),
                         int(g.loc[i, "step"])))  # fmt: skip
        rows.append(
            {
                "reward": str(reward),
                "runs": int(group["run"].nunique()),
                "seeds": sorted(int(s) for s in group["seed"].unique()),
                "last_step": int(steps.max()),
                "reached": sorted({int(x) for x in group.groupby("run")["step"].max()}),
                "every": int(steps.diff().median()) if len(steps) > 1 else None,
                "best": best,
                "budget": convergence_budget(group, tolerance, by="run"),
                "sustained": convergence_budget(group, tolerance, sustained=True, by="run"),
            }
        )
    frame = pd.DataFrame(rows)
    for col in ("budget", "sustained"):  # None stays None (not NaN), steps stay int
        frame[col] = pd.Series([r[col] for r in rows], dtype=object)
    return frame


def convergence_blocks(
    curves: pd.DataFrame,
    meta: dict[str, Any],
    trained: list[int],
    plot: Path,
    own_runs: set[str] | None = None,
) -> list[Block]:
    """The report's section on the convergence check (render Blocks); ``trained``: the
    decisions per run of the report's own runs (their distinct values); ``plot``: where the
    figure of the curves goes; ``own_runs``: the names of the report's own runs (when they
    are the check's runs, the report is the check's own and says so; when the check's runs
    are among them beside others, the batch reused them, and it says that)."""
    tol = float(meta.get("tolerance", 0.05))
    ev = evidence(curves, tol)
    kinds = sorted(set(curves["score_kind"].dropna())) if "score_kind" in curves else []
    score = {
        "geometric_mean": "the geometric mean of the point's validation episodes' waiting times",
        "mean": "the mean of the point's validation episodes' waiting times",
    }.get(kinds[0] if len(kinds) == 1 else "", "the mean waiting time over the point's "
          "validation episodes")  # fmt: skip
    episodes = curves["episodes"].dropna().astype(int) if "episodes" in curves else pd.Series()
    per_point = (
        f" ({span(int(episodes.min()), int(episodes.max()))} episodes per point)"
        if len(episodes) else ""
    )  # fmt: skip
    runs = ", ".join(
        f"{r.reward} ({counted(r.runs, 'run')}, {'seed' if len(r.seeds) == 1 else 'seeds'} "
        f"{', '.join(map(str, r.seeds))})"
        for r in ev.itertuples()
    )
    uneven = [f"{r.reward} {_steps(r.reached)}" for r in ev.itertuples() if len(r.reached) > 1]
    every = sorted({int(e) for e in ev["every"].dropna()})
    checked = set(curves["run"].astype(str))
    is_own = checked == (own_runs or set())
    reused = not is_own and checked <= (own_runs or set())
    opening = (
        "This batch is the convergence check: it trained"
        if is_own
        else "Before this batch, a convergence check trained"
    )
    lines = [
        f"**The check.** {opening} {runs} up to "
        f"{_steps(sorted(set(ev['last_step'])))} decisions and scored the greedy policy every "
        f"{_steps(every)} decisions on validation episodes{per_point}: the score is {score} "
        f"(s/veh). Source: `{meta.get('source', '?')}`."
        + (
            f" This batch's runs include the check's {counted(len(checked), 'run')} (the same "
            f"run keys), beside {counted(len(own_runs or set()) - len(checked), 'other')}."
            if reused
            else ""
        )
        + (
            " Its runs did not all reach the same step (" + "; ".join(uneven) + " decisions): "
            "only the steps all runs of a reward share are compared, so the check is not "
            "finished."
            if uneven
            else ""
        )
    ]
    found = [f"{r.reward} {_step(r.budget)}" + _stays(r.budget, r.sustained)
             for r in ev.itertuples()]  # fmt: skip
    budgets = [int(b) for b in ev["budget"].dropna()]
    lines.append(
        f"**Budget.** Per reward, the first step at which the median run is within "
        f"{100 * tol:g}% of its own best score: {'; '.join(found)}."
        + (
            f" The largest, {budgets and max(budgets):,} decisions, is the budget"
            if len(budgets) == len(ev)
            else " At least one reward never came within it at a step its runs share, so the check "
            "gives no budget"
        )
        + "."
    )
    never = ", ".join(r.reward for r in ev.itertuples() if _none(r.budget))
    if is_own:
        length = int(ev["last_step"].max())
        lines.append(
            f"A batch that relies on this check trains {max(budgets):,} decisions per run."
            if len(budgets) == len(ev)
            else f"A batch that relies on this check trains as long as the check did, "
            f"{length:,} decisions per run, since no shorter budget was established, and "
            f"cannot claim that its runs of {never} have converged."
        )
    elif trained:
        own = ", ".join(f"{t:,}" for t in trained)
        if len(budgets) == len(ev) and trained == [max(budgets)]:
            verdict = "the check's budget"
        elif len(budgets) == len(ev) and min(trained) > max(budgets):
            verdict = "more than the check's budget"
        elif len(budgets) == len(ev):
            verdict = "fewer than the check's budget: they may stop short of their best"
        elif min(trained) >= int(ev["last_step"].max()):
            verdict = (
                "as long as the check itself trained, since it established no shorter budget; "
                f"{never} never came within {100 * tol:g}% of the best at a step the runs "
                "share, so this report's runs of it may not have converged either"
            )
        else:
            verdict = "a budget the check did not establish"
        lines.append(f"This report's runs trained {own} decisions: {verdict}.")
    if len(budgets) == len(ev):
        lines.append(_stopping(curves, max(budgets)))
    lines.append(
        "**What this does not show.** Only the rewards above were checked; the others are "
        "assumed to converge by the same budget. Where the median run leaves the tolerance "
        "again after the budget, the scores still swing from checkpoint to checkpoint: each "
        "run's test episodes evaluate its best checkpoint by validation, chosen (as the budget "
        "was) on validation episodes only, never on test episodes."
    )
    blocks = [Block("h2", "Budget from the convergence check")]
    blocks += [Block("p", t) for t in lines]
    rows = []
    for r in ev.itertuples():
        for run, seed, best, step in r.best:
            rows.append([r.reward, str(seed), f"{best:.2f}", f"{step:,}", run])
    blocks.append(
        Block(
            "table", headers=["reward", "seed", "best score (s/veh)", "at step", "run"], rows=rows
        )  # fmt: skip
    )
    if convergence_figure(curves, {r.reward: r.budget for r in ev.itertuples()}, plot):
        blocks.append(Block("img", text="convergence check: validation score per run", path=plot))
    return blocks


def _stopping(curves: pd.DataFrame, budget: int) -> str:
    """The sentence on what stopping every run at ``budget`` costs (selection_gap)."""
    from intergreen.agents.curves import selection_gap

    parts = []
    for reward, group in curves.groupby("reward", sort=False):
        kept = selection_gap(group, by="run")
        at = kept.loc[kept.index <= budget]
        if at.empty:
            continue
        row = at.iloc[-1]
        runs = ", ".join(f"{100 * row[r]:.1f}%" for r in kept.columns if r != "median")
        parts.append(
            f"{reward} {100 * row['median']:.1f}% (runs: {runs}; over "
            f"{int(kept.index.max()):,} decisions)"
        )
    return (
        f"**Stopping at {budget:,} decisions.** A run keeps its best checkpoint by validation, "
        "so stopping early costs the gap between its best score up to the budget and its best "
        f"over the whole check; median over runs: {'; '.join(parts)}. Both bests are minima of "
        "noisy validation scores, the longer curve's over more of them, so these gaps tend to "
        "overstate what stopping costs rather than hide it; the test episodes, never used to "
        "choose, give each run's unbiased score."
    )


def _none(step: Any) -> bool:
    return step is None or pd.isna(step)


def _stays(budget: Any, sustained: Any) -> str:
    if _none(budget):
        return ""
    if _none(sustained):
        return " (and leaves it again later)"
    if int(sustained) == int(budget):
        return " (and stays within)"
    return f" (stays within from {int(sustained):,})"


def _step(step: Any) -> str:
    return "never" if _none(step) else f"{int(step):,}"


def _steps(values: list[int]) -> str:
    return " / ".join(f"{v:,}" for v in values) or "?"


__all__ = [
    "CURVES_FILE",
    "META_FILE",
    "ConvergenceError",
    "attach",
    "convergence_blocks",
    "curves_from",
    "evidence",
    "read",
]
