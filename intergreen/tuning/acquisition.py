"""Numerically stable log expected improvement and log normal CDF helpers."""

from __future__ import annotations

import math

import numpy as np
from scipy.special import erfcx, log_ndtr

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def log_h(z: np.ndarray) -> np.ndarray:
    """log(phi(z) + z * Phi(z)), stable for very negative z (float64)."""
    z = np.asarray(z, dtype=np.float64)
    out = np.empty_like(z)
    hi = z > -1.0
    zh = z[hi]
    out[hi] = np.log(np.exp(-0.5 * zh**2 - _LOG_SQRT_2PI) + zh * np.exp(log_ndtr(zh)))
    zl = z[~hi]
    ratio = 1.0 + zl * math.sqrt(math.pi / 2) * erfcx(-zl / math.sqrt(2))
    ratio = np.where(zl < -1e3, 1.0 / zl**2, np.maximum(ratio, 1e-300))
    out[~hi] = -0.5 * zl**2 - _LOG_SQRT_2PI + np.log(ratio)
    return out


def log_expected_improvement(
    mean: np.ndarray, var: np.ndarray, reference: np.ndarray, margin: float
) -> np.ndarray:
    """log EI of ``mean`` over ``reference + margin`` (maximisation, surrogate units)."""
    sigma = np.sqrt(np.maximum(var, 1e-18))
    z = (mean - reference - margin) / sigma
    return np.log(sigma) + log_h(z)
