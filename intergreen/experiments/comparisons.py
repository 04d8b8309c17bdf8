"""Seed-level comparisons with verdicts only where the seeds can support one.

Two families per demand level, each Holm-corrected on its own:

- **against the best reward**: the agent controller with the lowest mean of per-seed means
  on the validation rows (``split == "validation"``), or, when the results hold no
  validation rows at that level, on the test rows, and then labelled as chosen on test data
  (optimistic: the same episodes choose and score). Every other agent controller's per-seed
  means (test rows) against the best's: a permutation test of the difference of means, or
  Welch's t (``test="t"``).
- **against the best baseline, paired** (primary): the baseline (default or tuned) with the
  lowest mean on the validation episodes of the level, or on the test episodes where not
  every baseline has validation rows there (labelled: the choice then favours the
  baseline). For training seed s of an agent, d_s = the mean over the test episodes the
  agent and the baseline share (same eval_seed) of agent minus baseline waiting time.
  Pairing removes the episode-to-episode variation of demand from each d_s; the training
  seed stays the unit. The d_s are tested against 0 by a sign-flip permutation test, or the
  paired t test (``test="t"``). Holm over the rewards of the level.
- **against the other baselines, paired** (secondary): the same test for every reward and
  every other baseline, Holm over all those pairs of the level.

Why the best baseline is the primary comparison: with Holm over every reward and every
baseline (13 x 6 = 78 pairs in the reward study) the smallest p must be below 0.05 / 78 =
0.00064, and a sign-flip test over 10 seeds cannot go below 2 / 2^10 = 0.00195: no verdict
could ever be given. Against one baseline per level (0.05 / 13 = 0.0038) 10 seeds can give
one. This follows from the test's arithmetic alone, and was settled before the test results
of the study's added seeds existed.

Verdicts: ``better`` / ``worse`` (Holm-adjusted p < alpha), ``not shown to differ``, or
``n/a`` with the reason: fewer than 2 training seeds, or too few for the test to reach
alpha at all (a permutation test with 3 and 3 seeds cannot go below p = 0.1; with Holm over
m comparisons none is significant unless m x floor < alpha).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

import intergreen.experiments.stats as stats
from intergreen.common import span
from intergreen.experiments.provenance import counted
from intergreen.experiments.summaries import (
    controller_order,
    is_agent,
    seed_summary,
    test_rows,
    unit_values,
    validation_rows,
)

NEEDS_SEEDS = "n/a — needs at least 2 training seeds"
NOT_SHOWN = "not shown to differ"


TOO_FEW = "n/a — too few seeds"
#: Seeds per arm below which a t test gives no verdict: with 2 (1 degree of freedom) its p
#: rests wholly on normality, and two nearly equal seed means give p < 0.001 by chance.
MIN_T_SEEDS = 3


def seeds_needed(test: str, m: int, alpha: float, paired: bool) -> int:
    """The fewest seeds per arm with which a family of ``m`` Holm-corrected comparisons can
    give a verdict (m x the test's floor < alpha): :data:`MIN_T_SEEDS` for t tests."""
    for n in range(MIN_T_SEEDS if test == "t" else 2, 64):
        floor = stats.paired_floor(test, n) if paired else stats.independent_floor(test, n, n)
        if m * floor < alpha:
            return n
    return 64


def _verdicts(
    level: pd.DataFrame, alpha: float, test: str, paired: bool
) -> tuple[pd.DataFrame, str]:
    """Holm over the testable rows of one level, then a verdict per row; returns the rows
    and a note for the level ("" when verdicts are possible)."""
    level = level.copy()
    testable = level["p"].notna()
    level["p_holm"] = stats.holm(level["p"].to_numpy())
    m = int(testable.sum())
    note = ""
    blocked = False
    n = _fewest_seeds(level.loc[testable]) if m else 0
    if m and test == "t" and n < MIN_T_SEEDS:
        blocked = True
        need = seeds_needed(test, m, alpha, paired)
        note = (
            f"No verdicts: with {counted(n, 'training seed')} in an arm the "
            f"{_test_name(test, paired)} has {n - 1} degree{'s' if n != 2 else ''} of freedom "
            "and its p rests wholly on the seed means being normal, which so few seeds cannot "
            f"check; at least {need} seeds per arm would allow a verdict (or --seed-test "
            "permutation, exact, which says what these seeds allow)."
        )
    if m and not blocked:
        floor = float(level.loc[testable, "floor"].min())
        if m * floor >= alpha:
            blocked = True
            need = seeds_needed(test, m, alpha, paired)
            note = (
                f"No verdicts: with {_seed_span(level.loc[testable])} training seeds the "
                f"{_test_name(test, paired)} cannot give p below {floor:.3g}, and Holm over "
                f"{counted(m, 'comparison')} needs p < {alpha / m:.3g}; "
                f"about {need} seeds per arm would allow a verdict."
            )
    elif (level["verdict"] == NEEDS_SEEDS).any():  # no row can be tested at all
        untested = level[level["verdict"] == NEEDS_SEEDS]
        k = len(untested)
        need = seeds_needed(test, k, alpha, paired)
        note = (
            f"No verdicts: with {counted(_fewest_seeds(untested), 'training seed')} "
            f"{'per arm' if _seed_span(untested) == '1' else 'in an arm'} there is no spread "
            "across seeds to test (a test needs at least 2 per arm); about "
            f"{need} seeds per arm would allow a verdict with Holm over "
            f"{counted(k, 'comparison')}."
        )
    verdicts = []
    for r in level.itertuples():
        if r.verdict:  # set already (the best itself, or too few seeds)
            verdicts.append(r.verdict)
        elif blocked or r.floor >= alpha:
            verdicts.append(TOO_FEW)
        elif r.p_holm < alpha:
            verdicts.append("better" if r.diff < 0 else "worse")
        else:
            verdicts.append(NOT_SHOWN)
    level["verdict"] = verdicts
    return level, note


def _seed_span(rows: pd.DataFrame) -> str:
    counts = pd.concat([rows["n"], rows.get("n_best", rows["n"])]).astype(int)
    lo, hi = int(counts.min()), int(counts.max())
    return str(lo) if lo == hi else f"{lo}–{hi}"


def _fewest_seeds(rows: pd.DataFrame) -> int:
    return int(pd.concat([rows["n"], rows.get("n_best", rows["n"])]).min())


def _test_name(test: str, paired: bool) -> str:
    if test == "t":
        return "paired t test" if paired else "Welch t test"
    return "sign-flip permutation test" if paired else "permutation test"


def choose_best(
    results: pd.DataFrame, demand: str, metric: str = stats.METRIC, agents: bool = True
) -> tuple[str, str]:
    """(best agent controller at ``demand``, or best baseline with ``agents=False``;
    ``validation`` | ``test``: the rows it was chosen on). Validation is used when every
    controller of that kind has validation rows there."""
    means, source = choice_means(results, demand, metric, agents)
    return min(means, key=means.get), source


def choice_means(
    results: pd.DataFrame, demand: str, metric: str = stats.METRIC, agents: bool = True
) -> tuple[dict[str, float], str]:
    """({controller: mean of its unit values of ``metric`` (per-seed means for an agent,
    episodes for a baseline) on the rows the best is chosen on}, ``validation`` | ``test``:
    those rows) at ``demand``, over the agent controllers, or the baselines with
    ``agents=False`` (see :func:`choose_best`). Raises ValueError where none has a finite
    mean there."""

    def of_kind(df: pd.DataFrame) -> pd.DataFrame:
        mask = is_agent(df) if agents else ~is_agent(df)
        return df[mask & (df["demand"] == demand)]

    scored = of_kind(test_rows(results))
    names = list(dict.fromkeys(scored["controller"]))
    valid = of_kind(validation_rows(results))
    source, rows = (
        ("validation", valid) if set(names) <= set(valid["controller"]) else ("test", scored)
    )
    means = {c: float(np.mean(unit_values(rows, c, demand, metric))) for c in names}
    means = {c: v for c, v in means.items() if np.isfinite(v)}
    if not means:
        raise ValueError(f"no {'agent' if agents else 'baseline'} results at demand {demand!r}")
    return means, source


def against_best(
    results: pd.DataFrame,
    metric: str = stats.METRIC,
    test: str = "permutation",
    alpha: float = stats.ALPHA,
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Per demand level, every agent controller against the best reward (see the module
    docstring). Returns (rows: demand, controller, best, chosen_on, chosen_mean (the mean of
    per-seed means on the rows the best was chosen on), n, n_best, mean, mean_best, diff, p,
    floor, p_holm, verdict; a note per level, "" when none)."""
    scored = test_rows(results)
    _, demands = controller_order(scored)
    out, notes = [], {}
    for demand in demands:
        level = scored[(scored["demand"] == demand) & is_agent(scored)]
        if level.empty:
            continue
        chosen_means, chosen_on = choice_means(results, demand, metric)
        best = min(chosen_means, key=chosen_means.get)
        ref = unit_values(level, best, demand, metric)
        rows = []
        for c in dict.fromkeys(level["controller"]):
            x = unit_values(level, c, demand, metric)
            row = {
                "demand": demand, "controller": c, "best": best, "chosen_on": chosen_on,
                "n": len(x), "n_best": len(ref), "mean": float(np.mean(x)),
                "mean_best": float(np.mean(ref)), "p": np.nan, "floor": np.nan, "verdict": "",
                "chosen_mean": chosen_means.get(c, np.nan),
            }  # fmt: skip
            row["diff"] = row["mean"] - row["mean_best"]
            if c == best:
                row["verdict"] = f"best (chosen on {chosen_on} data)"
            elif min(len(x), len(ref)) < 2:
                row["verdict"] = NEEDS_SEEDS
            else:
                t = stats.independent_test(x, ref, test)
                row["p"], row["floor"] = t.p, t.floor
            rows.append(row)
        done, notes[demand] = _verdicts(pd.DataFrame(rows), alpha, test, paired=False)
        out.append(done)
    return (pd.concat(out, ignore_index=True) if out else pd.DataFrame()), notes


def paired_differences(
    results: pd.DataFrame, agent: str, baseline: str, demand: str, metric: str = stats.METRIC
) -> tuple[np.ndarray, int]:
    """(d_s per training seed of ``agent``: mean over shared test episodes of agent minus
    ``baseline``; the number of shared episodes, fewest over the seeds)."""
    level = results[results["demand"] == demand].dropna(subset=[metric])
    base = level[level["controller"] == baseline].groupby("eval_seed")[metric].mean()
    diffs, shared = [], []
    for _, run in level[level["controller"] == agent].groupby("train_seed", sort=True):
        a = run.groupby("eval_seed")[metric].mean()
        common = a.index.intersection(base.index)
        if len(common):
            diffs.append(float((a[common] - base[common]).mean()))
            shared.append(len(common))
    return np.array(diffs), (min(shared) if shared else 0)


def against_baselines(
    results: pd.DataFrame,
    metric: str = stats.METRIC,
    test: str = "permutation",
    alpha: float = stats.ALPHA,
    confidence: float = 0.95,
) -> tuple[pd.DataFrame, dict[str, str], dict[str, str]]:
    """Per demand level, every (agent controller, baseline) pair, paired over the shared test
    episodes, the best baseline's pairs first (see the module docstring). Returns (rows:
    demand, controller, baseline, primary (the baseline is the level's best), chosen_on
    (``validation`` | ``test``: the rows the best baseline was chosen on), chosen_mean (the
    baseline's mean there, s), n, episodes, diff, ci_low, ci_high, p, floor, p_holm (within
    its family), verdict; the primary family's note per level; the secondary family's note
    per level; "" where there is none)."""
    scored = test_rows(results)
    controllers, demands = controller_order(scored)
    agents = [c for c in controllers if c in set(scored.loc[is_agent(scored), "controller"])]
    baselines = [c for c in controllers if c not in agents]
    out, notes, other_notes = [], {}, {}
    for demand in demands:
        if not agents or not (scored.loc[~is_agent(scored), "demand"] == demand).any():
            continue
        means, chosen_on = choice_means(results, demand, metric, agents=False)
        best = min(means, key=means.get)
        rows = []
        for base in sorted(baselines, key=lambda b: b != best):
            for agent in agents:
                d, shared = paired_differences(scored, agent, base, demand, metric)
                if shared == 0:
                    continue
                lo, hi = stats.t_interval(d, confidence)
                row = {
                    "demand": demand, "controller": agent, "baseline": base,
                    "primary": base == best, "chosen_on": chosen_on,
                    "chosen_mean": means.get(base, np.nan), "n": len(d), "episodes": shared,
                    "diff": float(np.mean(d)), "ci_low": lo, "ci_high": hi,
                    "p": np.nan, "floor": np.nan, "verdict": "",
                }  # fmt: skip
                if len(d) < 2:
                    row["verdict"] = NEEDS_SEEDS
                else:
                    t = stats.paired_test(d, test)
                    row["p"], row["floor"] = t.p, t.floor
                rows.append(row)
        if not rows:
            continue
        level = pd.DataFrame(rows)
        for family, into in ((level["primary"], notes), (~level["primary"], other_notes)):
            if family.any():
                done, into[demand] = _verdicts(level[family], alpha, test, paired=True)
                out.append(done)
    return (pd.concat(out, ignore_index=True) if out else pd.DataFrame()), notes, other_notes


@dataclass
class SeedLevel:
    """Everything the report states at seed level, computed once: the summary (test rows),
    both comparison families with their per-level notes, and the settings used."""

    summary: pd.DataFrame
    vs_best: pd.DataFrame
    vs_best_notes: dict[str, str]
    #: every (reward, baseline) pair; ``primary`` marks the level's best baseline's pairs
    vs_baselines: pd.DataFrame
    #: the primary family's note per level (against the best baseline)
    vs_baselines_notes: dict[str, str]
    test: str
    alpha: float
    confidence: float
    #: one sentence: where the best reward was chosen (:func:`choice_text`)
    choice: str = ""
    #: the secondary family's note per level (against the other baselines)
    vs_other_baselines_notes: dict[str, str] = field(default_factory=dict)


def choice_text(results: pd.DataFrame, vs_best: pd.DataFrame) -> str:
    """Where the best reward was chosen, from ``vs_best``'s ``chosen_on`` per level and the
    validation rows of ``results`` (their episodes per run and level); "" with no agents."""
    if vs_best.empty:
        return ""
    on = vs_best.drop_duplicates("demand").set_index("demand")["chosen_on"]
    valid = validation_rows(results)
    valid = valid[is_agent(valid)]
    per_run = valid.groupby(["controller", "train_seed", "demand"], dropna=False).size()
    eps = span(int(per_run.min()), int(per_run.max())) if len(per_run) else "0"
    chosen_valid = (
        f"validation episodes ({eps} per run and level, from the validation seed stream, "
        "disjoint from the test episodes; every controller met them beside its test episodes)"
    )
    which = "not every reward has" if len(valid) else "no reward has"
    optimistic = (
        "the test episodes, so the choice is optimistic (the same episodes choose and score "
        f"it): {which} validation scores in the results (rows with split = validation)"
    )
    scored = " Every mean, interval and test reported is on the test episodes only."
    if (on == "validation").all():
        return f"The best reward at each level is chosen on {chosen_valid}.{scored}"
    if (on == "test").all():
        return f"The best reward is chosen on {optimistic}."
    by_valid = ", ".join(on.index[on == "validation"])
    by_test = ", ".join(on.index[on == "test"])
    return (
        f"The best reward is chosen on {chosen_valid} at {by_valid}, and at {by_test} on "
        f"{optimistic} there.{scored}"
    )


def seed_level(
    results: pd.DataFrame,
    metric: str = stats.METRIC,
    test: str = "permutation",
    alpha: float = stats.ALPHA,
    confidence: float = 0.95,
) -> SeedLevel:
    """The seed-level summary and comparisons of ``results`` (validation rows only select)."""
    if test not in stats.TESTS:
        raise ValueError(f"seed-level test {test!r}: use one of {', '.join(stats.TESTS)}")
    best, best_notes = against_best(results, metric, test, alpha)
    base, base_notes, other_notes = against_baselines(results, metric, test, alpha, confidence)
    summary = seed_summary(test_rows(results), metric, confidence)
    choice = choice_text(results, best)
    return SeedLevel(
        summary, best, best_notes, base, base_notes, test, alpha, confidence, choice, other_notes
    )
