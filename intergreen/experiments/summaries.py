"""Per-controller summaries of a results table (one row per evaluation episode).

- ``seed_summary`` (the primary view): the training seed is the unit. An agent's value at a
  demand level is the mean of its per-seed means, with a Student-t 95 % interval across
  seeds and the number of seeds; a baseline has no training seed, so its unit is the test
  episode.
- ``pooled_summary`` (secondary, the study's Table I layout): every episode of every
  training seed in one sample, mean ± std. Its spread mixes seed-to-seed and
  episode-to-episode variation; it supports no test.
- ``select_best_run``: the study's selection, per agent the training seed with the lowest
  mean over all levels (optimistic: the same episodes choose and score it).
- ``tails``: teleports, the 95th percentile and maximum vehicle wait, and the mean wait per
  arm, from the columns the results table has (``TAIL_COLUMNS``, ``arm_wait_<arm>``).

Rows may carry ``split`` = ``test`` or ``validation``; summaries use the test rows
(``test_rows``) and selections the validation rows (``validation_rows``). A table without the
column holds test rows only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from intergreen.experiments.stats import METRIC, t_interval

SPLIT = "split"
TEST, VALIDATION = "test", "validation"
#: Per-episode vehicle-wait tails (s): the 95th percentile and the maximum over vehicles.
TAIL_COLUMNS = ("wait_p95", "wait_max")
#: ``arm_wait_<arm>``: average waiting time (s) of the vehicles entering from arm <arm>.
ARM_PREFIX = "arm_wait_"
#: Emissions per vehicle-km from SUMO's emissions device, where the results have them.
EMISSION_COLUMNS = ("co2_g_per_vkm", "fuel_l_per_100vkm")


def test_rows(results: pd.DataFrame) -> pd.DataFrame:
    """The rows scored for the report (all rows when there is no ``split`` column)."""
    if SPLIT not in results:
        return results
    return results[results[SPLIT].fillna(TEST) == TEST]


def validation_rows(results: pd.DataFrame) -> pd.DataFrame:
    """The rows that may select (``split == "validation"``); empty without the column."""
    if SPLIT not in results:
        return results.iloc[0:0]
    return results[results[SPLIT] == VALIDATION]


def is_agent(df: pd.DataFrame) -> pd.Series:
    return df["kind"] == "agent"


def seed_means(results: pd.DataFrame, metric: str = METRIC) -> pd.DataFrame:
    """One row per (agent controller, demand, training seed): ``value`` = the mean of
    ``metric`` over that seed's episodes, ``episodes`` = how many."""
    agents = results[is_agent(results)].dropna(subset=[metric])
    cols = ["controller", "demand", "train_seed"]
    if agents.empty:
        return pd.DataFrame(columns=[*cols, "value", "episodes"])
    g = agents.groupby(cols, sort=False)[metric]
    return g.agg(value="mean", episodes="size").reset_index()


def unit_values(results: pd.DataFrame, controller: str, demand: str, metric: str = METRIC):
    """The values a controller's interval and tests are computed on at one level: its
    per-seed means (agent) or its episodes (baseline)."""
    rows = results[(results["controller"] == controller) & (results["demand"] == demand)]
    rows = rows.dropna(subset=[metric])
    if rows.empty:
        return np.array([])
    if bool(is_agent(rows).iloc[0]):
        return rows.groupby("train_seed", sort=True)[metric].mean().to_numpy()
    return rows[metric].to_numpy()


def identical_agents(results: pd.DataFrame, metric: str = METRIC) -> list[list[str]]:
    """Groups of two or more agent controllers whose every episode gave the same ``metric``,
    value for value, on the same training seeds, demands and episode seeds: runs that learned
    the same, e.g. under two rewards that coincide on the set-up (``wait_time`` summed over a
    decision interval of one simulation step is ``queue``). Empty where there are none."""
    agents = results[is_agent(results)].dropna(subset=[metric])
    if agents.empty:
        return []
    keys = ["train_seed", "demand", "eval_seed", "episode"]
    wide = agents.pivot_table(index=keys, columns="controller", values=metric, aggfunc="first")
    groups: dict[tuple[float, ...], list[str]] = {}
    for controller in dict.fromkeys(agents["controller"]):
        column = wide[controller]
        if not column.isna().any():  # a seed or episode the others lack: not the same runs
            groups.setdefault(tuple(column.tolist()), []).append(str(controller))
    return [group for group in groups.values() if len(group) > 1]


def controller_order(results: pd.DataFrame) -> tuple[list[str], list[str]]:
    """(controllers: agents in table order then baselines, demand levels in table order)."""
    controllers = list(dict.fromkeys(results.loc[is_agent(results), "controller"]))
    controllers += list(dict.fromkeys(results.loc[~is_agent(results), "controller"]))
    return controllers, list(dict.fromkeys(results["demand"]))


def seed_summary(
    results: pd.DataFrame, metric: str = METRIC, confidence: float = 0.95
) -> pd.DataFrame:
    """Per (controller, demand): kind, unit (``seed`` | ``episode``), n (units), episodes,
    mean (of the unit values), sd (across units, ddof 1), ci_low, ci_high (Student t over
    the units; NaN for one unit) and rank (1 = lowest mean at the level)."""
    rows = []
    for (controller, demand), level in results.groupby(["controller", "demand"], sort=False):
        values = unit_values(level, controller, demand, metric)
        agent = bool(is_agent(level).iloc[0])
        lo, hi = t_interval(values, confidence)
        rows.append(
            {
                "controller": controller,
                "kind": "agent" if agent else "baseline",
                "demand": demand,
                "unit": "seed" if agent else "episode",
                "n": len(values),
                "episodes": int(level[metric].notna().sum()),
                "mean": float(np.mean(values)) if len(values) else np.nan,
                "sd": float(np.std(values, ddof=1)) if len(values) > 1 else np.nan,
                "ci_low": lo,
                "ci_high": hi,
            }
        )
    out = pd.DataFrame(rows)
    if not out.empty:
        out["rank"] = out.groupby("demand", sort=False)["mean"].rank(method="min")
    return out


def pooled_summary(results: pd.DataFrame, metric: str = METRIC) -> pd.DataFrame:
    """Per (controller, demand) over all episodes pooled: n, mean, std (ddof 1), rank."""
    g = results.dropna(subset=[metric]).groupby(["controller", "demand"], sort=False)[metric]
    out = g.agg(n="size", mean="mean", std="std").reset_index()
    if not out.empty:
        out["rank"] = out.groupby("demand", sort=False)["mean"].rank(method="min")
    return out


def select_best_run(results: pd.DataFrame, metric: str = METRIC) -> pd.DataFrame:
    """The episodes of each agent's best training seed (lowest mean over all levels), and
    every baseline episode: the study's selection."""
    agents = results[is_agent(results)]
    if agents.empty:
        return results
    per_run = agents.groupby(["controller", "train_seed"])[metric].mean().reset_index()
    best = per_run.loc[per_run.groupby("controller")[metric].idxmin()]
    keep = set(zip(best["controller"], best["train_seed"], strict=True))
    mask = [
        k != "agent" or (c, s) in keep
        for k, c, s in zip(results["kind"], results["controller"], results["train_seed"],
                           strict=True)
    ]  # fmt: skip
    return results[mask]


def arm_columns(results: pd.DataFrame) -> list[str]:
    """The ``arm_wait_<arm>`` columns present, in table order."""
    return [c for c in results.columns if str(c).startswith(ARM_PREFIX)]


def tails(results: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Per (controller, demand): ``teleports`` (mean per episode) and ``teleport_share``
    (episodes with one), ``wait_p95`` (mean of the episodes' 95th percentiles), ``wait_max``
    (the longest single wait in any episode), each ``arm_wait_<arm>`` (mean of per-seed
    means, or of episodes for a baseline) and ``worst_arm`` (the arm with the longest mean
    wait); where recorded, the :data:`EMISSION_COLUMNS` (mean of per-seed means). Returns
    (table, the names of the expected columns the results lack; emissions are optional)."""
    present = [c for c in ("teleports", *TAIL_COLUMNS) if c in results]
    arms = arm_columns(results)
    missing = [c for c in ("teleports", *TAIL_COLUMNS) if c not in results]
    if not arms:
        missing.append(f"{ARM_PREFIX}<arm>")
    rows = []
    for (controller, demand), level in results.groupby(["controller", "demand"], sort=False):
        row: dict = {"controller": controller, "demand": demand}
        if "teleports" in present:
            row["teleports"] = float(level["teleports"].mean())
            row["teleport_share"] = float((level["teleports"] > 0).mean())
        if "wait_p95" in present:
            row["wait_p95"] = _level_mean(level, controller, demand, "wait_p95")
        if "wait_max" in present:
            row["wait_max"] = float(level["wait_max"].max())
        for col in arms + [c for c in EMISSION_COLUMNS if c in results]:
            row[col] = _level_mean(level, controller, demand, col)
        if arms:
            waits = {c[len(ARM_PREFIX) :]: row[c] for c in arms if np.isfinite(row[c])}
            row["worst_arm"] = max(waits, key=waits.get) if waits else ""
        rows.append(row)
    return pd.DataFrame(rows), missing


def _level_mean(level: pd.DataFrame, controller: str, demand: str, column: str) -> float:
    values = unit_values(level, controller, demand, column)
    return float(np.mean(values)) if len(values) else np.nan
