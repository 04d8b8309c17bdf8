"""Output quantile-normal transform and log-cost min-max transform (surrogate units)."""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtri

_BOUNDS_THRESHOLD = 1e-7
#: Clip of the normal quantile, ~5.199 (as scikit-learn's QuantileTransformer).
CLIP = float(-ndtri(_BOUNDS_THRESHOLD - np.spacing(1)))


class QuantileNormal:
    """Rank-based map of outputs to N(0, 1) quantiles with floor(sqrt(n)) reference quantiles.

    Reimplements scikit-learn's ``QuantileTransformer(output_distribution="normal")``: linear
    interpolation, averaged ascending/descending interpolations, values at or beyond the
    training min/max mapped to -/+ ``CLIP``. With fewer than 4 samples two quantiles (min, max)
    are used (scikit-learn would use one and map everything to -5.2).
    """

    def __init__(self, values: np.ndarray) -> None:
        v = np.asarray(values, dtype=np.float64)
        if v.size == 0 or not np.all(np.isfinite(v)):
            raise ValueError("QuantileNormal needs at least one finite value")
        n_q = max(2, math.isqrt(v.size))
        self.references = np.linspace(0.0, 1.0, n_q)
        self.quantiles = np.percentile(v, self.references * 100.0)
        # scikit-learn enforces monotonicity of the quantiles
        self.quantiles = np.maximum.accumulate(self.quantiles)

    def transform(self, values: np.ndarray) -> np.ndarray:
        """Outputs -> normal scores in [-CLIP, CLIP]."""
        x = np.asarray(values, dtype=np.float64)
        q, r = self.quantiles, self.references
        lo, hi = q[0], q[-1]
        p = 0.5 * (np.interp(x, q, r) - np.interp(-x, -q[::-1], -r[::-1]))
        p = np.where(x + _BOUNDS_THRESHOLD > hi, 1.0, p)
        p = np.where(x - _BOUNDS_THRESHOLD < lo, 0.0, p)
        if hi - lo < _BOUNDS_THRESHOLD:  # all training values (nearly) equal
            p = np.where(x >= hi, 1.0, 0.0)
        return np.clip(ndtri(p), -CLIP, CLIP)

    def inverse(self, scores: np.ndarray) -> np.ndarray:
        """Normal scores -> outputs (for logging only)."""
        from scipy.special import ndtr

        p = ndtr(np.asarray(scores, dtype=np.float64))
        q, r = self.quantiles, self.references
        return 0.5 * (np.interp(p, r, q) - np.interp(-p, -r[::-1], -q[::-1]))


class LogCostScaler:
    """log(cost) min-max scaled to [-1, 1]; all-equal costs map to -1."""

    def __init__(self, costs: np.ndarray) -> None:
        c = np.asarray(costs, dtype=np.float64)
        if c.size == 0 or not np.all(c > 0):
            raise ValueError("LogCostScaler needs at least one cost, all > 0")
        logc = np.log(c)
        self.lo = float(logc.min())
        self.hi = float(logc.max())

    @property
    def span(self) -> float:
        """Width of the log-cost range (0 when all costs are equal)."""
        return self.hi - self.lo

    def transform(self, costs: np.ndarray) -> np.ndarray:
        """Costs -> scaled log costs."""
        return self.transform_log(np.log(np.asarray(costs, dtype=np.float64)))

    def transform_log(self, log_costs: np.ndarray) -> np.ndarray:
        """log costs -> scaled log costs."""
        lc = np.asarray(log_costs, dtype=np.float64)
        if self.span == 0:
            return np.full_like(lc, -1.0)
        return 2.0 * (lc - self.lo) / self.span - 1.0

    def inverse(self, scaled: np.ndarray) -> np.ndarray:
        """Scaled log costs -> costs."""
        s = np.asarray(scaled, dtype=np.float64)
        if self.span == 0:
            return np.full_like(s, np.exp(self.lo))
        return np.exp(self.lo + (s + 1.0) * self.span / 2.0)
