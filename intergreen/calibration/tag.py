"""UK TAG unit M3.1 flow criteria: does a model reproduce counts it was not fitted to?

Source: Department for Transport, Transport Analysis Guidance (TAG) unit M3.1 *Highway
Assignment Modelling*, section 3.3 "Validation Criteria and Guidelines", table of link
flow and turning movement validation criteria and acceptability guidelines:

1. **Flow criterion**: the individual modelled flow is within 100 veh/h of the count
   for counts below 700 veh/h, within 15% of the count for counts from 700 to
   2,700 veh/h, and within 400 veh/h for counts above 2,700 veh/h;
2. **GEH criterion**: GEH < 5 for the individual flow (:func:`intergreen.calibration.geh.geh`).

Each is acceptable when it holds for more than 85% of the counts (we accept exactly
85%, as :mod:`intergreen.calibration.geh` does). The criteria are for hourly flows in
veh/h at the counted magnitude: the thresholds (100, 400 veh/h, GEH) are absolute, so
comparing a scaled-down model with scaled-down counts would loosen them (GEH shrinks
with the square root of the scale). :func:`tag_validation` therefore takes modelled
and observed flows in the units of the counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from intergreen.calibration.geh import GEH_TARGET_SHARE, GEH_THRESHOLD, geh

__all__ = [
    "TAG_SOURCE",
    "TagCriterion",
    "TagValidation",
    "flow_criterion",
    "flow_tolerance",
    "tag_validation",
]

TAG_SOURCE = (
    "DfT TAG unit M3.1 Highway Assignment Modelling, section 3.3, link flow validation criteria"
)
LOW_FLOW, HIGH_FLOW = 700.0, 2700.0
"""Bounds (veh/h) between the absolute and the relative flow tolerance."""


def flow_tolerance(observed: npt.ArrayLike) -> np.ndarray:
    """TAG M3.1's allowed |modelled - observed| (veh/h) for each observed hourly flow.

    100 veh/h below 700 veh/h, 15% of the count from 700 to 2,700 veh/h, 400 veh/h
    above 2,700 veh/h. Raises ``ValueError`` for negative or non-finite flows.
    """
    c = np.asarray(observed, dtype=float)
    if not np.all(np.isfinite(c)) or np.any(c < 0):
        raise ValueError("the TAG flow criterion needs observed flows >= 0 (veh/h)")
    return np.where(c < LOW_FLOW, 100.0, np.where(c <= HIGH_FLOW, 0.15 * c, 400.0))


def flow_criterion(modelled: npt.ArrayLike, observed: npt.ArrayLike) -> np.ndarray:
    """True where the modelled hourly flow meets TAG M3.1's flow criterion (same shape)."""
    m = np.asarray(modelled, dtype=float)
    if not np.all(np.isfinite(m)) or np.any(m < 0):
        raise ValueError("the TAG flow criterion needs modelled flows >= 0 (veh/h)")
    return np.abs(m - np.asarray(observed, dtype=float)) <= flow_tolerance(observed) + 1e-9


@dataclass(frozen=True)
class TagCriterion:
    """One criterion's result: how many counts meet it and the verdict."""

    name: str
    n_counts: int
    n_met: int
    target_share: float = GEH_TARGET_SHARE

    @property
    def share(self) -> float:
        return self.n_met / self.n_counts

    @property
    def passed(self) -> bool:
        # compare counts, not floats: 17 of 20 is exactly 85 %
        return self.n_met >= self.target_share * self.n_counts - 1e-9

    def verdict(self) -> str:
        """E.g. ``PASS flow criterion: 47 of 48 counts (97.9%; target >= 85%)``."""
        return (
            f"{'PASS' if self.passed else 'FAIL'} {self.name}: {self.n_met} of "
            f"{self.n_counts} counts ({100 * self.share:.1f}%; target >= "
            f"{100 * self.target_share:g}%)"
        )


@dataclass(frozen=True)
class TagValidation:
    """TAG M3.1 flow and GEH criteria over a table of counts."""

    table: pd.DataFrame
    """The input rows with ``diff`` (veh/h), ``tolerance`` (veh/h), ``flow_ok``,
    ``geh`` and ``geh_ok`` added."""
    flow: TagCriterion
    geh: TagCriterion

    @property
    def criteria(self) -> tuple[TagCriterion, TagCriterion]:
        return (self.flow, self.geh)

    @property
    def passed(self) -> bool:
        """Both criteria met."""
        return self.flow.passed and self.geh.passed

    def verdict(self) -> str:
        """``PASS`` or ``FAIL`` with the failed criteria named."""
        failed = [c.name for c in self.criteria if not c.passed]
        return "PASS" if not failed else "FAIL (" + ", ".join(failed) + ")"

    def worst(self, n: int = 5) -> pd.DataFrame:
        """The ``n`` counts with the largest GEH, largest first."""
        return self.table.sort_values("geh", ascending=False, kind="stable").head(n)


def tag_validation(
    df: pd.DataFrame,
    modelled: str = "modelled",
    observed: str = "observed",
    target_share: float = GEH_TARGET_SHARE,
) -> TagValidation:
    """Both TAG M3.1 criteria for the hourly flows (veh/h) in ``df``, one count per row.

    Raises ``ValueError`` for missing columns, no rows or negative flows.
    """
    missing = [c for c in (modelled, observed) if c not in df.columns]
    if missing:
        raise ValueError(f"TAG validation needs column(s) {missing}; have {list(df.columns)}")
    if df.empty:
        raise ValueError("TAG validation needs at least one count")
    t = df.copy()
    m, c = t[modelled].to_numpy(float), t[observed].to_numpy(float)
    t["diff"] = m - c
    t["tolerance"] = flow_tolerance(c)
    t["flow_ok"] = flow_criterion(m, c)
    t["geh"] = geh(m, c)
    t["geh_ok"] = t["geh"] < GEH_THRESHOLD
    n = len(t)
    return TagValidation(
        table=t,
        flow=TagCriterion("flow criterion", n, int(t["flow_ok"].sum()), target_share),
        geh=TagCriterion(f"GEH < {GEH_THRESHOLD:g}", n, int(t["geh_ok"].sum()), target_share),
    )
