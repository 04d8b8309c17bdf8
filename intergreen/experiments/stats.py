"""Statistics for comparing controllers on per-episode waiting times.

- mean ± std per (controller, demand): the study's Table I cells;
- 95 % bootstrap confidence interval of the mean (scipy.stats.bootstrap, percentile);
- each controller against the best at a demand level: two-sided Mann-Whitney U, with the
  Holm step-down correction over the family of comparisons at that level;
- ranks by mean per level.

Pooling: ``pooled`` treats every evaluation episode of every training seed as one sample
(the spread includes the seed-to-seed spread). ``best_run`` keeps, per controller, only the
training seed with the lowest mean waiting time over all levels -- the study's selection
("the best result of the 10 training runs"), which is optimistic because the same
episodes choose the run and score it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

METRIC = "avg_waiting_time"
ALPHA = 0.05


def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (step-down, monotone, capped at 1); NaN stays NaN."""
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


def bootstrap_ci(
    x: Sequence[float], confidence: float = 0.95, n_resamples: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean; NaNs for fewer than two values or no spread."""
    from scipy.stats import bootstrap

    a = np.asarray(x, dtype=float)
    if len(a) < 2:
        return (np.nan, np.nan)
    if np.all(a == a[0]):
        return (float(a[0]), float(a[0]))
    res = bootstrap(
        (a,), np.mean, confidence_level=confidence, n_resamples=n_resamples,
        method="percentile", random_state=np.random.default_rng(seed),
    )  # fmt: skip
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def select(results: pd.DataFrame, pooling: str = "pooled", metric: str = METRIC) -> pd.DataFrame:
    """The episodes that count for each controller under ``pooling`` (pooled | best_run)."""
    if pooling == "pooled":
        return results
    if pooling != "best_run":
        raise ValueError(f"pooling {pooling!r}: use pooled or best_run")
    agents = results[results["kind"] == "agent"]
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


def summary(results: pd.DataFrame, metric: str = METRIC) -> pd.DataFrame:
    """Per (controller, demand): n, mean, std, CI, rank, p vs best (raw and Holm)."""
    from scipy.stats import mannwhitneyu

    rows = []
    for demand, level in results.groupby("demand", sort=False):
        groups = {
            c: g[metric].dropna().to_numpy() for c, g in level.groupby("controller", sort=False)
        }
        means = {c: float(np.mean(v)) if len(v) else np.nan for c, v in groups.items()}
        best = min((c for c in means if not np.isnan(means[c])), key=means.get, default=None)
        ranks = pd.Series(means).rank(method="min")
        pvals = {}
        for c, v in groups.items():
            if c == best or best is None or len(v) == 0:
                continue
            ref = groups[best]
            both = np.concatenate([v, ref])
            if np.all(both == both[0]):
                pvals[c] = 1.0  # identical constants: no evidence of a difference
            else:
                pvals[c] = float(mannwhitneyu(v, ref, alternative="two-sided").pvalue)
        adjusted = dict(zip(pvals, holm(list(pvals.values())), strict=True))
        for c, v in groups.items():
            lo, hi = bootstrap_ci(v)
            rows.append(
                {
                    "controller": c,
                    "demand": demand,
                    "n": len(v),
                    "mean": means[c],
                    "std": float(np.std(v, ddof=1)) if len(v) > 1 else np.nan,
                    "ci_low": lo,
                    "ci_high": hi,
                    "rank": float(ranks[c]),
                    "best": c == best,
                    "p_vs_best": pvals.get(c, np.nan),
                    "p_holm": adjusted.get(c, np.nan),
                }
            )
    return pd.DataFrame(rows)


def indistinguishable(stats: pd.DataFrame, alpha: float = ALPHA) -> dict[str, list[str]]:
    """Per demand level, the controllers whose Holm-adjusted p vs the best is >= alpha."""
    out: dict[str, list[str]] = {}
    for demand, level in stats.groupby("demand", sort=False):
        out[str(demand)] = [
            c for c, p in zip(level["controller"], level["p_holm"], strict=True) if p >= alpha
        ]
    return out
