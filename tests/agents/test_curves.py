"""Convergence of validation curves on synthetic curves whose answer is known."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from intergreen.agents.curves import best_point, convergence_budget, median_gap, selection_gap
from intergreen.errors import OptionError

STEPS = [100, 200, 300, 400, 500]


def _curves(scores: dict[str, list[float]], steps: list[int] = STEPS) -> pd.DataFrame:
    return pd.DataFrame(
        [{"seed": s, "step": t, "score": x} for s, xs in scores.items()
         for t, x in zip(steps, xs, strict=True)]
    )  # fmt: skip


# best 5, 6, 7; gaps to the best per step:
#   a: 1, .2, .04, 0, .02   b: 1, 1/3, 1/30, 1/60, 0   c: 13/7, 2/7, 1/7, 0, .1
# median gap: 1, 2/7, .04, 0, .02
THREE = _curves({"a": [10, 6, 5.2, 5, 5.1], "b": [12, 8, 6.2, 6.1, 6], "c": [20, 9, 8, 7, 7.7]})


def test_median_gap_per_step() -> None:
    gap = median_gap(THREE)
    assert gap.index.tolist() == STEPS
    assert gap.tolist() == pytest.approx([1, 2 / 7, 0.04, 0, 0.02])


def test_selection_gap_is_the_best_checkpoint_so_far_against_the_best() -> None:
    kept = selection_gap(THREE)
    # a keeps 5 from 400 on although it scores 5.1 at 500; c keeps 7 at 500 (scores 7.7)
    assert kept["a"].tolist() == pytest.approx([1, 0.2, 0.04, 0, 0])
    assert kept["b"].tolist() == pytest.approx([1, 1 / 3, 1 / 30, 1 / 60, 0])
    assert kept["c"].tolist() == pytest.approx([13 / 7, 2 / 7, 1 / 7, 0, 0])
    assert kept["median"].tolist() == pytest.approx([1, 2 / 7, 0.04, 0, 0])
    assert (kept["median"].diff().dropna() <= 0).all()  # stopping later never costs more
    # its median is not median_gap's: the raw score at 500 is 2% above a's best
    assert median_gap(THREE)[500] == pytest.approx(0.02)
    with pytest.raises(OptionError, match="positive"):
        selection_gap(_curves({"a": [1, 0, 1, 1, 1]}))


@pytest.mark.parametrize(
    ("tolerance", "budget"), [(0.05, 300), (0.041, 300), (0.039, 400), (0.0, 400), (0.3, 200),
                              (1.0, 100)],
)  # fmt: skip
def test_convergence_budget_is_the_first_step_within_tolerance(tolerance, budget) -> None:
    assert convergence_budget(THREE, tolerance) == budget


def test_sustained_needs_the_median_to_stay_within_tolerance() -> None:
    # both seeds reach their best at 200, fall back 60% at 300, come within 2% at 400
    dips = _curves({"a": [10, 5, 8, 5.1], "b": [20, 10, 16, 10.2]}, STEPS[:4])
    assert convergence_budget(dips, 0.05) == 200
    assert convergence_budget(dips, 0.05, sustained=True) == 400
    assert convergence_budget(THREE, 0.03, sustained=True) == 400
    assert convergence_budget(THREE, 0.01, sustained=True) is None  # .02 at the end


def test_no_budget_when_seeds_peak_at_different_steps() -> None:
    apart = _curves({"a": [1, 2, 2], "b": [2, 1, 2], "c": [2, 2, 1]}, STEPS[:3])
    assert median_gap(apart).tolist() == [1, 1, 1]
    assert convergence_budget(apart, 0.05) is None
    assert convergence_budget(apart, 1.0) == 100


def test_only_steps_every_seed_has_count() -> None:
    # seed c stopped early (a time limit): its missing steps are left out for all seeds, and
    # each best is taken over the shared steps
    short = pd.concat([THREE[THREE["seed"] != "c"],
                       _curves({"c": [20, 9, 8]}, STEPS[:3])])  # fmt: skip
    gap = median_gap(short)
    assert gap.index.tolist() == [100, 200, 300]
    # bests over 100-300: a 5.2, b 6.2, c 8: gaps at 300 are 0, 0, 0
    assert gap[300] == 0 and convergence_budget(short, 0.05) == 300


def test_curves_named_by_another_column() -> None:
    runs = THREE.rename(columns={"seed": "run"}).assign(seed=1)  # three runs of one seed
    assert convergence_budget(runs, 0.05, by="run") == 300
    with pytest.raises(OptionError, match=r"two scores for one \(seed, step\)"):
        convergence_budget(runs, 0.05)


@pytest.mark.parametrize(
    ("curves", "tolerance", "match"),
    [(THREE.drop(columns="score"), 0.05, "lack the column.*score"),
     (THREE, -0.01, "tolerance must be a finite number >= 0"),
     (THREE, math.nan, "tolerance must be a finite number >= 0"),
     (pd.concat([THREE, THREE.iloc[:1]]), 0.05, "two scores for one"),
     (THREE.assign(score=THREE["score"] - 10), 0.05, "scores must be positive"),
     (pd.concat([_curves({"a": [1, 2]}, [1, 2]), _curves({"b": [1, 2]}, [3, 4])]), 0.05,
      r"share no step \(a: 1, 2; b: 3, 4\): .* give runs validated at the same steps")],
)  # fmt: skip
def test_bad_curves_are_refused(curves: pd.DataFrame, tolerance: float, match: str) -> None:
    with pytest.raises(OptionError, match=match):
        convergence_budget(curves, tolerance)


def test_best_point_is_the_earliest_lowest_score() -> None:
    scores = pd.DataFrame({"step": [10, 20, 30, 40], "score": [5.0, 3.0, 4.0, 3.0]})
    assert best_point(scores) == (20, 3.0)
    assert best_point(scores.iloc[:0]) is None
