"""The validation on held-out counts passes the calibration and fails three wrong models.

Real SUMO runs of 07:00-09:00 (the morning peak's first two hours; 4 counts), fitted on
weekdays 1-14 February 2018 of TfGM site 1415 and validated on weekdays 15-28 February
by the TAG M3.1 criteria. Each wrong model is built from the same fit-day counts, with the
right model's scale and vehicle mix; the validation maps the held-out counts to arms as
the site's directions really arrive. ``benchmarks/calibration/validate_models.py`` runs
the same over the whole day.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from intergreen.calibration.counterfactuals import (
    COUNTERFACTUALS,
    national_profile,
    scaled,
    swapped_directions,
)
from intergreen.calibration.counts import load_counts
from intergreen.calibration.demand_profiles import (
    CalibratedDemand,
    arm_hourly_flows,
    calibrated_from_flows,
    mapped_flows,
)
from intergreen.calibration.errors import CalibrationError
from intergreen.calibration.flows import tra0307_weekday_profile
from intergreen.calibration.holdout import split_counts
from intergreen.calibration.validate import check_model
from intergreen.calibration.vehicle_mix import site_vehicle_mix
from intergreen.junctions.catalog import resolve_junction
from intergreen.junctions.spec import JunctionSpec

HOURS = "7-9"


@pytest.fixture(scope="module")
def gm() -> JunctionSpec:
    return resolve_junction("gm_a56")


@pytest.fixture(scope="module")
def fitted(gm: JunctionSpec, tfgm_1415: Path):
    """Fit-day flows by arm, the true map, the held-out flows and the measured mix."""
    split = split_counts(load_counts(f"tfgm:{tfgm_1415}"))
    observed, mapping = arm_hourly_flows(gm, split.fit, site="1415")
    held = mapped_flows(split.held_out, mapping)
    mix = site_vehicle_mix(tfgm_1415, site="1415", days=split.fit_days)
    return observed, mapping, held, mix


@pytest.fixture(scope="module")
def right(gm: JunctionSpec, fitted) -> CalibratedDemand:
    observed, mapping, _, mix = fitted
    return calibrated_from_flows(gm, observed, mapping, HOURS, vehicle_mix=mix)


def test_held_out_counts_are_other_days(fitted, tfgm_1415: Path) -> None:
    observed, mapping, held, _ = fitted
    assert mapping == {("1415", "NorthEast"): "S", ("1415", "SouthWest"): "N"}
    raw = pd.read_csv(tfgm_1415)
    when = pd.to_datetime(raw["date"], format="%d/%m/%y %H:%M:%S")
    late = raw[when.dt.day.ge(15) & when.dt.day_of_week.lt(5) & when.dt.hour.eq(8)]
    ne = late[late["DirectionDescription"] == "NorthEast"]
    expected = ne.groupby(when[ne.index].dt.date)["Volume"].sum().mean()
    assert held.loc[8, "S"] == pytest.approx(expected)
    assert held.loc[8, "S"] != pytest.approx(observed.loc[8, "S"], abs=1)


def test_right_calibration_passes(gm: JunctionSpec, right, fitted, tmp_path: Path) -> None:
    check = check_model(gm, right, tmp_path, fitted[2], seed=1, step_length=1.0)
    assert check.fit.passed
    v = check.validation
    assert v is not None and v.flow.n_counts == 4
    assert v.flow.passed and v.geh.passed and v.passed, v.table
    t = v.table
    assert (t["modelled_unscaled"] == t["modelled"] / right.scale).all()
    assert set(t["hour"]) == {7, 8} and set(t["arm"]) == {"N", "S"}


@pytest.mark.parametrize("name", list(COUNTERFACTUALS))
def test_wrong_model_fails(gm: JunctionSpec, right, fitted, name: str, tmp_path: Path) -> None:
    observed, mapping, held, mix = fitted
    wrong = COUNTERFACTUALS[name][1](observed)
    cal = calibrated_from_flows(gm, wrong, mapping, HOURS, scale=right.scale, vehicle_mix=mix)
    check = check_model(gm, cal, tmp_path, held, seed=1, step_length=1.0)
    if name != "plus_20":  # +20% overloads the peak: even the stop-line fit check may fail
        assert check.fit.passed  # in-sample, the wrong model looks fine
    v = check.validation
    assert v is not None and not v.passed, v.table
    assert v.table["geh"].max() > 5


def test_counterfactual_flows(fitted) -> None:
    observed = fitted[0]
    swapped = swapped_directions(observed)
    assert (swapped["N"] == observed["S"]).all() and (swapped["S"] == observed["N"]).all()
    assert (scaled(observed) == 1.2 * observed).all().all()
    national = national_profile(observed)
    shape = tra0307_weekday_profile()
    np.testing.assert_allclose(national.sum(), observed.sum())
    np.testing.assert_allclose(national["N"] / national["N"].sum(), shape.shares())
    with pytest.raises(CalibrationError, match="daily totals"):
        national_profile(observed.loc[7:9])
    with pytest.raises(CalibrationError, match="two counted arms"):
        swapped_directions(observed[["N"]])
