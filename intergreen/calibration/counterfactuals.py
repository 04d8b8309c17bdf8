"""Deliberately wrong demands: what a validation on held-out counts must reject.

Each takes the counted arms' hourly flows (veh/h, index clock hour, one column per arm,
as :func:`~intergreen.calibration.demand_profiles.arm_hourly_flows` gives them) and
returns flows that a careless calibration could have produced; built into a demand with
:func:`~intergreen.calibration.demand_profiles.calibrated_from_flows` (with the scale of
the right model) and validated against the held-out counts through the *true*
direction-to-arm map, each must FAIL the TAG M3.1 criteria. The in-sample fit check
passes all of them, since routeSampler reproduces whatever it is given.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from intergreen.calibration.errors import CalibrationError
from intergreen.calibration.flows import HourlyProfile, tra0307_weekday_profile

__all__ = ["COUNTERFACTUALS", "national_profile", "scaled", "swapped_directions"]


def swapped_directions(observed: pd.DataFrame) -> pd.DataFrame:
    """The two counted directions swapped: each arm gets the other one's flows."""
    if observed.shape[1] != 2:
        raise CalibrationError(
            f"swapping directions needs two counted arms, got {list(observed.columns)}"
        )
    a, b = observed.columns
    return observed.rename(columns={a: b, b: a})[[a, b]]


def scaled(observed: pd.DataFrame, factor: float = 1.2) -> pd.DataFrame:
    """Every flow times ``factor`` (1.2: all flows 20% too high)."""
    return observed * factor


def national_profile(observed: pd.DataFrame, profile: HourlyProfile | None = None) -> pd.DataFrame:
    """The national hour-of-day profile in place of the local one: each arm's counted daily
    total spread over the day by DfT TRA0307 (Monday-Friday mean), as a model without
    local hourly counts would do. ``observed`` must hold all 24 hours."""
    missing = sorted(set(range(24)) - set(observed.index))
    if missing:
        raise CalibrationError(
            f"the national profile needs the counted daily totals: hours {missing} missing"
        )
    shape = profile or tra0307_weekday_profile()
    day = observed.loc[list(range(24))]
    return pd.DataFrame(
        {arm: shape.scaled_to(float(day[arm].sum())) for arm in day.columns}, index=day.index
    )


COUNTERFACTUALS: dict[str, tuple[str, Callable[[pd.DataFrame], pd.DataFrame]]] = {
    "swapped": ("the two main-road directions swapped", swapped_directions),
    "plus_20": ("every flow 20% too high", scaled),
    "national": ("the national DfT TRA0307 hourly profile in place of the local counts",
                 national_profile),
}  # fmt: skip
"""Name -> (description, transform of the counted arms' hourly flows)."""
