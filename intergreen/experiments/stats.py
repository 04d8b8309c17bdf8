"""Statistical tests on small samples, with the smallest p-value each can reach.

Everything here works on plain arrays (one value per unit: a training seed's mean, or a
paired difference); `summaries` and `comparisons` decide what the units are. The tests are
scipy.stats's own:

- two independent samples: Welch's t (``ttest_ind(equal_var=False)``) or a permutation
  test of the difference of means (``permutation_test``, exact over every split of the
  pooled values when there are at most ``N_RESAMPLES`` of them);
- paired samples: the paired t test (``ttest_rel``) or the sign-flip permutation test
  (``permutation_test(permutation_type="samples")``, exact over all 2^n sign patterns when
  there are at most ``N_RESAMPLES``);
- rank agreement: Spearman's rho with a permutation p-value (exact over all n! orders when
  there are at most ``N_RESAMPLES``): with 3 items the smallest two-sided p is 2/3! = 0.333;
- Holm's step-down correction of a family of p-values.

A permutation test has a floor: with 3 and 3 values no split is more extreme than the two
most extreme of C(6, 3) = 20, so p >= 0.1 whatever the data. ``Test.floor`` gives it, so a
report can say "too few seeds for a verdict" instead of printing one it cannot support.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

METRIC = "avg_waiting_time"
ALPHA = 0.05
#: Permutation tests are exact up to this many permutations, Monte Carlo above.
N_RESAMPLES = 20_000
TESTS = ("permutation", "t")


@dataclass(frozen=True)
class Test:
    """One test's outcome: the two-sided p-value, the smallest p the test could give with
    these sample sizes (0 for t tests), and whether the permutation p is exact."""

    p: float
    floor: float
    exact: bool = True


def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (step-down, monotone, capped at 1); NaN stays NaN.

    scipy.stats has no Holm correction (``false_discovery_control`` is Benjamini-Hochberg)."""
    p = np.asarray(pvalues, dtype=float)
    out = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    q = p[ok]
    m = len(q)
    if m == 0:
        return out
    order = np.argsort(q, kind="stable")
    adjusted = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * q[i]))
        adjusted[i] = running
    out[ok] = adjusted
    return out


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _mean_diff(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(a, axis=axis) - np.mean(b, axis=axis)


def _mean(a: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(a, axis=axis)


def independent_test(
    x: Sequence[float], y: Sequence[float], test: str = "permutation", seed: int = 0
) -> Test:
    """Two-sided test of equal means of two independent samples (each >= 2 values).

    ``test``: ``permutation`` (difference of means; exact when C(n1+n2, n1) <=
    N_RESAMPLES, else N_RESAMPLES random splits) or ``t`` (Welch's t).
    Raises ValueError for fewer than 2 values in a sample or an unknown test."""
    from scipy import stats

    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    _check_sizes(test, len(a), len(b))
    if np.ptp(np.concatenate([a, b])) == 0:
        return Test(1.0, independent_floor(test, len(a), len(b)))
    if test == "t":
        if np.ptp(a) == 0 and np.ptp(b) == 0:  # two different constants: t is infinite
            return Test(0.0, 0.0)
        return Test(float(stats.ttest_ind(a, b, equal_var=False).pvalue), 0.0)
    res = stats.permutation_test(
        (a, b), _mean_diff, permutation_type="independent", vectorized=True,
        n_resamples=N_RESAMPLES, alternative="two-sided", rng=_rng(seed),
    )  # fmt: skip
    exact = math.comb(len(a) + len(b), len(a)) <= N_RESAMPLES
    return Test(float(res.pvalue), independent_floor(test, len(a), len(b)), exact)


def independent_floor(test: str, n1: int, n2: int) -> float:
    """The smallest two-sided p ``independent_test`` can give for samples of n1 and n2."""
    if test == "t":
        return 0.0
    splits = math.comb(n1 + n2, n1)
    return min(1.0, 2.0 / splits) if splits <= N_RESAMPLES else 2.0 / (N_RESAMPLES + 1)


def paired_test(differences: Sequence[float], test: str = "permutation", seed: int = 0) -> Test:
    """Two-sided test that paired differences have mean 0 (>= 2 differences).

    ``permutation``: sign-flip test of the mean (exact when 2^n <= N_RESAMPLES); ``t``: the
    paired t test (``ttest_rel`` of the differences against zeros). Raises ValueError for
    fewer than 2 differences."""
    from scipy import stats

    d = np.asarray(differences, dtype=float)
    _check_sizes(test, len(d))
    if np.all(d == 0):
        return Test(1.0, paired_floor(test, len(d)))
    if test == "t":
        if np.ptp(d) == 0:  # the same non-zero difference every time
            return Test(0.0, 0.0)
        return Test(float(stats.ttest_rel(d, np.zeros_like(d)).pvalue), 0.0)
    res = stats.permutation_test(
        (d,), _mean, permutation_type="samples", vectorized=True,
        n_resamples=N_RESAMPLES, alternative="two-sided", rng=_rng(seed),
    )  # fmt: skip
    return Test(float(res.pvalue), paired_floor(test, len(d)), 2 ** len(d) <= N_RESAMPLES)


def paired_floor(test: str, n: int) -> float:
    """The smallest two-sided p ``paired_test`` can give for n differences."""
    if test == "t":
        return 0.0
    return min(1.0, 2.0 / 2**n) if 2**n <= N_RESAMPLES else 2.0 / (N_RESAMPLES + 1)


def _check_sizes(test: str, *sizes: int) -> None:
    if test not in TESTS:
        raise ValueError(f"test {test!r}: use one of {', '.join(TESTS)}")
    if min(sizes) < 2:
        raise ValueError(
            f"a test needs at least 2 values per sample, got {', '.join(map(str, sizes))}"
        )


def t_interval(x: Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """Student-t confidence interval of the mean (``ttest_1samp(...).confidence_interval``);
    NaNs for fewer than 2 values; (mean, mean) when every value is the same."""
    from scipy import stats

    a = np.asarray(x, dtype=float)
    if len(a) < 2:
        return (np.nan, np.nan)
    if np.ptp(a) == 0:
        return (float(a[0]), float(a[0]))
    ci = stats.ttest_1samp(a, 0.0).confidence_interval(confidence)
    return float(ci.low), float(ci.high)


@dataclass(frozen=True)
class RankAgreement:
    """Spearman's rho between two orderings of n items, its two-sided permutation p, the
    smallest p possible with n items, and whether p is exact (all n! orders)."""

    rho: float
    p: float
    floor: float
    n: int
    exact: bool


def spearman_test(x: Sequence[float], y: Sequence[float], seed: int = 0) -> RankAgreement:
    """Spearman rank correlation of ``x`` and ``y`` with a permutation p-value (all n!
    orders of ``x`` when n! <= N_RESAMPLES, else N_RESAMPLES random ones). NaNs for n < 3."""
    from scipy import stats

    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n = len(a)
    if n != len(b):
        raise ValueError(f"spearman_test: {n} values against {len(b)}")
    if n < 3:
        return RankAgreement(np.nan, np.nan, np.nan, n, True)
    rb = stats.rankdata(b)
    rb = rb - rb.mean()

    def rho(values: np.ndarray, axis: int = -1) -> np.ndarray:
        ra = stats.rankdata(values, axis=axis)
        ra = ra - ra.mean(axis=axis, keepdims=True)
        denom = np.sqrt((ra**2).sum(axis=axis) * (rb**2).sum())
        with np.errstate(invalid="ignore", divide="ignore"):
            return (ra * rb).sum(axis=axis) / denom

    res = stats.permutation_test(
        (a,), rho, permutation_type="pairings", vectorized=True,
        n_resamples=N_RESAMPLES, alternative="two-sided", rng=_rng(seed),
    )  # fmt: skip
    exact = math.factorial(n) <= N_RESAMPLES
    floor = 2.0 / math.factorial(n) if exact else 2.0 / (N_RESAMPLES + 1)
    return RankAgreement(float(res.statistic), float(res.pvalue), min(1.0, floor), n, exact)
