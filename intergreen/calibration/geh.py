"""The GEH statistic and the UK calibration criterion for modelled hourly flows.

GEH = sqrt(2 (M - C)^2 / (M + C)) with M the modelled and C the observed (counted) hourly
flow in veh/h. The UK guidance (DMRB / TAG unit M3.1) accepts a model when GEH < 5 for at
least 85 % of the counts. GEH is only meaningful for hourly flows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = ["GEH_THRESHOLD", "GEH_TARGET_SHARE", "GehSummary", "geh", "geh_summary"]

GEH_THRESHOLD = 5.0
GEH_TARGET_SHARE = 0.85


def geh(modelled: npt.ArrayLike | float, observed: npt.ArrayLike | float) -> np.ndarray | float:
    """GEH of modelled vs observed hourly flows (veh/h), element-wise.

    Returns a float for scalar inputs, else an array; GEH is 0 where both flows are 0.
    Raises ``ValueError`` for negative or non-finite flows.
    """
    m = np.asarray(modelled, dtype=float)
    c = np.asarray(observed, dtype=float)
    if not (np.all(np.isfinite(m)) and np.all(np.isfinite(c))):
        raise ValueError("GEH needs finite flows; drop or fill missing values first")
    if np.any(m < 0) or np.any(c < 0):
        raise ValueError("GEH needs flows >= 0 (veh/h)")
    total = m + c
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(total > 0, np.sqrt(2.0 * (m - c) ** 2 / total), 0.0)
    return float(value) if value.ndim == 0 else value


@dataclass(frozen=True)
class GehSummary:
    """GEH per count and the verdict against the UK criterion."""

    table: pd.DataFrame
    """The input rows with ``geh`` and ``diff`` (modelled - observed, veh/h) added."""
    n_counts: int
    n_below: int
    share_below: float
    passed: bool
    worst: pd.DataFrame
    """The counts with the largest GEH, largest first."""
    threshold: float = GEH_THRESHOLD
    target_share: float = GEH_TARGET_SHARE

    def verdict(self) -> str:
        """One line, e.g. ``PASS: GEH < 5 for 90.0% of 20 counts (18 of 20; target >= 85%)``."""
        word = "PASS" if self.passed else "FAIL"
        return (
            f"{word}: GEH < {self.threshold:g} for {100 * self.share_below:.1f}% of "
            f"{self.n_counts} counts ({self.n_below} of {self.n_counts}; target >= "
            f"{100 * self.target_share:g}%)"
        )


def geh_summary(
    df: pd.DataFrame,
    modelled: str = "modelled",
    observed: str = "observed",
    threshold: float = GEH_THRESHOLD,
    target_share: float = GEH_TARGET_SHARE,
    n_worst: int = 5,
) -> GehSummary:
    """GEH per count (row of ``df``), share below ``threshold`` and pass/fail.

    The model passes when at least ``target_share`` of the counts have
    GEH < ``threshold`` (strictly below; exactly 85 % passes).
    """
    missing = [c for c in (modelled, observed) if c not in df.columns]
    if missing:
        raise ValueError(f"GEH summary needs column(s) {missing}; have {list(df.columns)}")
    if df.empty:
        raise ValueError("GEH summary needs at least one count")
    table = df.copy()
    table["geh"] = geh(table[modelled].to_numpy(float), table[observed].to_numpy(float))
    table["diff"] = table[modelled].astype(float) - table[observed].astype(float)
    n = len(table)
    n_below = int((table["geh"] < threshold).sum())
    # compare counts, not floats: 17 of 20 is exactly 85 %
    passed = n_below >= target_share * n - 1e-9
    worst = table.sort_values("geh", ascending=False, kind="stable").head(n_worst)
    return GehSummary(
        table=table,
        n_counts=n,
        n_below=n_below,
        share_below=n_below / n,
        passed=bool(passed),
        worst=worst,
        threshold=threshold,
        target_share=target_share,
    )
