import numpy as np
import pytest

from intergreen.tuning.pareto import group_observations, pareto_area, pareto_groups


def _front(x, y, c, sign=1, **kw):
    g = pareto_groups(np.array(x, float)[:, None], np.array(y, float), np.array(c, float), sign,
                      **kw)
    return [(gr.cost, gr.output, gr.count) for gr in g]


def test_distinct_points_front() -> None:
    f = _front([0, 1, 2, 3, 4], [1, 0.5, 2, 1.5, 3], [1, 2, 3, 4, 5])
    assert f == [(1, 1, 1), (3, 2, 1), (5, 3, 1)]
    # minimising mirrors the outputs
    f = _front([0, 1, 2, 3, 4], [-1, -0.5, -2, -1.5, -3], [1, 2, 3, 4, 5], sign=-1)
    assert f == [(1, -1, 1), (3, -2, 1), (5, -3, 1)]


def test_conservative_front_suppresses_single_outliers() -> None:
    x, y, c = [0, 1, 1, 2, 3], [1, 2, 4, 3.5, 4.5], [1, 3, 3, 4, 5]
    assert _front(x, y, c, conservative=False) == [(1, 1, 1), (3, 3, 2), (4, 3.5, 1), (5, 4.5, 1)]
    assert _front(x, y, c) == [(1, 1, 1), (3, 3, 2), (5, 4.5, 1)]


def test_low_cost_bucket_prefers_resampled_groups() -> None:
    x, y, c = [0, 1, 1, 2, 3], [5, 2, 4, 4.5, 6], [1, 1, 1, 6, 8]
    assert _front(x, y, c) == [(1, 3, 2), (6, 4.5, 1), (8, 6, 1)]
    assert _front(x, y, c, conservative=False) == [(1, 5, 1), (8, 6, 1)]


def test_duplicate_costs_empty_the_original_set_but_not_ours() -> None:
    # the same input observed at costs 1 and 10 (imbue-ai/carbs#6)
    x, y, c = [0, 0, 1, 2], [1, 1, 2, 3], [1, 10, 3, 4]
    assert _front(x, y, c, fixed=False) == []
    assert _front(x, y, c) == [(3, 2, 1), (4, 3, 1)]


def test_two_groups_and_constant_cost() -> None:
    assert _front([0, 1], [2, 1], [1, 5]) == [(1, 2, 1)]
    assert _front([0, 1], [1, 2], [1, 5]) == [(1, 1, 1), (5, 2, 1)]
    # constant cost: one group, the best (resampled ones first under the conservative rule)
    assert _front([0, 1, 1, 2], [9, 3, 5, 1], [2, 2, 2, 2]) == [(2, 4, 2)]
    assert _front([0, 1, 1, 2], [9, 3, 5, 1], [2, 2, 2, 2], conservative=False) == [(2, 9, 1)]


def test_grouping_and_area() -> None:
    g = group_observations(np.array([[0.0], [1e-9], [1.0]]), np.array([1.0, 3.0, 5.0]),
                           np.array([1.0, 3.0, 2.0]))
    assert [(gr.indices, gr.cost, gr.output) for gr in g] == [((0, 1), 2.0, 2.0), ((2,), 2.0, 5.0)]
    front = pareto_groups(np.array([[0.0], [1], [1], [2], [3]]), np.array([1, 2, 4, 3.5, 4.5]),
                          np.array([1.0, 3, 3, 4, 5]), 1)
    assert pareto_area(front) == pytest.approx((3 - 1) * 1 + (5 - 3) * 3)
    assert pareto_area(front[:1]) == 0.0
