import numpy as np
import pytest
from scipy.special import ndtri

from intergreen.tuning.acquisition import log_h
from intergreen.tuning.transforms import CLIP, LogCostScaler, QuantileNormal


def test_quantile_transform_values() -> None:
    q = QuantileNormal(np.array([0.0, 1.0, 2.0, 3.0]))  # 2 quantiles: min and max
    out = q.transform(np.array([0.0, 1.0, 2.0, 3.0, 99.0, -5.0]))
    third = float(ndtri(1 / 3))
    assert out == pytest.approx([-CLIP, third, -third, CLIP, CLIP, -CLIP])
    assert abs(CLIP - 5.1993) < 1e-4
    q9 = QuantileNormal(np.arange(9.0))  # 3 quantiles: 0, 4, 8
    assert q9.transform(np.array([2.0, 6.0])) == pytest.approx([ndtri(0.25), ndtri(0.75)])


def test_quantile_transform_is_monotone_and_inverts() -> None:
    rng = np.random.default_rng(1)
    y = rng.standard_cauchy(50)
    q = QuantileNormal(y)
    grid = np.linspace(np.quantile(y, 0.05), np.quantile(y, 0.95), 200)
    t = q.transform(grid)
    assert np.all(np.diff(t) >= 0)
    assert q.inverse(t) == pytest.approx(grid, rel=1e-6, abs=1e-6)
    assert q.transform(np.array([y.max()]))[0] == pytest.approx(CLIP)


def test_cost_scaler_round_trip() -> None:
    s = LogCostScaler(np.array([1.0, 10.0, 100.0]))
    assert s.transform(np.array([1.0, 10.0, 100.0])) == pytest.approx([-1.0, 0.0, 1.0])
    assert s.inverse(s.transform(np.array([3.0, 1000.0]))) == pytest.approx([3.0, 1000.0])
    same = LogCostScaler(np.array([5.0, 5.0]))
    assert same.transform(np.array([5.0, 5.0])) == pytest.approx([-1.0, -1.0])
    assert same.inverse(np.array([-1.0])) == pytest.approx([5.0])


def test_log_h_matches_direct_formula_and_stays_finite() -> None:
    from scipy.stats import norm

    z = np.array([-3.0, -1.5, -0.5, 0.0, 2.0])
    direct = np.log(norm.pdf(z) + z * norm.cdf(z))
    assert log_h(z) == pytest.approx(direct, rel=1e-9)
    far = log_h(np.array([-40.0, -1e4]))
    assert np.all(np.isfinite(far)) and far[0] > far[1]
