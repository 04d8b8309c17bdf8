"""Pareto groups of (cost, output): grouping of repeated inputs, low-cost bucket, fronts, area."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Group:
    """Successes at the same input (element-wise ``isclose``), with their mean cost and output."""

    indices: tuple[int, ...]
    cost: float
    output: float
    outputs: tuple[float, ...]

    @property
    def count(self) -> int:
        """Number of observations in the group."""
        return len(self.indices)


def isclose_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise ``isclose`` with torch's default tolerances (rtol 1e-5, atol 1e-8)."""
    return np.all(np.isclose(a, b, rtol=1e-5, atol=1e-8), axis=-1)


def group_observations(
    x: np.ndarray, outputs: np.ndarray, costs: np.ndarray
) -> list[Group]:
    """Group identical inputs, in order of first occurrence."""
    x = np.asarray(x, dtype=np.float64)
    assigned = np.zeros(len(x), dtype=bool)
    groups = []
    for i in range(len(x)):
        if assigned[i]:
            continue
        members = np.flatnonzero(~assigned & isclose_rows(x, x[i]))
        assigned[members] = True
        groups.append(
            Group(
                indices=tuple(int(j) for j in members),
                cost=float(np.mean(costs[members])),
                output=float(np.mean(outputs[members])),
                outputs=tuple(float(v) for v in outputs[members]),
            )
        )
    return groups


def low_cost_threshold(
    groups: list[Group], costs: np.ndarray, fraction: float, fixed: bool = True
) -> float:
    """Cost below which groups collapse to one representative.

    ``fixed=True`` (default) applies the PufferAI fix of imbue-ai/carbs#6: the quantile is taken
    over *group* mean costs, at least the cheapest group's cost, and equal to it with <= 2 groups.
    ``fixed=False`` reproduces upstream (quantile of individual costs), which can leave no group
    below the threshold.
    """
    if not groups:
        return -np.inf
    gc = np.array([g.cost for g in groups])
    if not fixed:
        return float(np.quantile(np.asarray(costs, dtype=np.float64), fraction))
    if len(groups) <= 2:
        return float(gc.min())
    return float(max(np.quantile(gc, fraction), gc.min()))


def pareto_groups(
    x: np.ndarray,
    outputs: np.ndarray,
    costs: np.ndarray,
    sign: float,
    fraction: float = 0.2,
    conservative: bool = True,
    fixed: bool = True,
) -> list[Group]:
    """Cost-ordered Pareto front of groups; ``sign`` = +1 maximises, -1 minimises."""
    outputs = np.asarray(outputs, dtype=np.float64)
    costs = np.asarray(costs, dtype=np.float64)
    groups = group_observations(x, outputs, costs)
    if not groups:
        return []
    tau = low_cost_threshold(groups, costs, fraction, fixed)
    bucket = [g for g in groups if g.cost <= tau]
    if not bucket:
        return []  # upstream's empty-set case (only reachable with fixed=False)
    if conservative and any(g.count > 1 for g in bucket):
        bucket = [g for g in bucket if g.count > 1]
    front = [max(bucket, key=lambda g: sign * g.output)]
    for g in sorted((g for g in groups if g.cost > tau), key=lambda g: g.cost):
        last = front[-1]
        if not conservative or g.count > 1:
            better = sign * g.output > sign * last.output
        else:
            better = sign * g.output > max(sign * v for v in last.outputs)
        if better:
            front.append(g)
    return front


def pareto_area(front: list[Group]) -> float:
    """Step-curve area sum_i (cost_i - cost_{i-1}) * output_{i-1} over consecutive groups."""
    return float(
        sum((b.cost - a.cost) * a.output for a, b in zip(front[:-1], front[1:], strict=True))
    )
