"""Calibrated gm_a56 profiles: values against the derived fit-day CSV, shipped YAMLs, bad input."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from intergreen.calibration.counts import load_counts
from intergreen.calibration.demand_profiles import (
    CalibrationError,
    arm_hourly_flows,
    calibrate_demand,
    gm_a56_profiles,
    parse_approach_map,
    profile_hours,
    resolve_scale,
    scale_note,
    study_levels,
)
from intergreen.calibration.holdout import split_counts
from intergreen.junctions.catalog import resolve_junction
from intergreen.junctions.demand import load_assumptions, resolve_demand
from intergreen.junctions.spec import JunctionSpec

DATA = Path(__file__).resolve().parents[2] / "data" / "gm_chester_road_holdout_hourly.csv"


@pytest.fixture(scope="module")
def gm() -> JunctionSpec:
    return resolve_junction("gm_a56")


@pytest.fixture(scope="module")
def site_flows() -> pd.DataFrame:
    """Fit-day (1-14 Feb) weekday-mean veh/h of site 1415 by hour: NorthEast, SouthWest."""
    df = pd.read_csv(DATA, dtype={"site": str})
    df = df[(df["site"] == "1415") & (df["lane"] == "all") & (df["part"] == "fit")]
    return df.pivot(index="hour", columns="direction", values="mean_veh_h")


def _arm(period, arm: str) -> float:
    return sum(v for m, v in period.flows.items() if m.startswith(f"{arm}."))


def test_weekday_profile_matches_derived_counts(gm: JunctionSpec, site_flows) -> None:
    a = load_assumptions(gm)
    profile = resolve_demand(gm, "weekday")
    assert len(profile.periods) == 24 and profile.duration == 86400
    main = site_flows["NorthEast"] + site_flows["SouthWest"]
    scale = max(study_levels(a).values()) * 0.70 / main.max()  # busiest hour = study's high
    assert scale == pytest.approx(0.5686, abs=1e-4)
    for hour, period in enumerate(profile.periods):
        # NE (northbound) arrives on the S arm, SW (southbound) on the N arm
        ne, sw = site_flows.loc[hour, "NorthEast"], site_flows.loc[hour, "SouthWest"]
        assert _arm(period, "S") == pytest.approx(scale * ne, abs=0.05)
        assert _arm(period, "N") == pytest.approx(scale * sw, abs=0.05)
        side = (_arm(period, "N") + _arm(period, "S")) * 0.15 / 0.70
        assert _arm(period, "E") == pytest.approx(side, abs=0.05)
        assert _arm(period, "W") == pytest.approx(side, abs=0.05)
        assert period.flows["N.ahead"] == pytest.approx(0.8 * _arm(period, "N"), abs=0.05)
        assert period.flows["E.left"] == pytest.approx(0.4 * _arm(period, "E"), abs=0.05)
    assert max(p.total for p in profile.periods) == pytest.approx(2400, abs=0.1)
    assert "1415" in profile.source and "assumption" in profile.source
    assert "fit on 10 days 2018-02-01..2018-02-14" in profile.source


def test_peak_profiles_are_the_weekday_hours(gm: JunctionSpec) -> None:
    day = resolve_demand(gm, "weekday")
    for name, (first, last) in (("am_peak", (7, 10)), ("pm_peak", (15, 19))):
        prof = resolve_demand(gm, name)
        assert len(prof.periods) == last - first
        for i, p in enumerate(prof.periods):
            assert p.begin == i * 3600
            assert p.flows == day.periods[first + i].flows
        assert f"{first:02d}:00" in prof.source


def test_calibrated_levels_keep_totals_take_split(gm: JunctionSpec, site_flows) -> None:
    daily = site_flows.sum()
    n_share = daily["SouthWest"] / (daily["SouthWest"] + daily["NorthEast"])
    for level, total in {"low": 1714, "medium": 2117, "high": 2400}.items():
        p = resolve_demand(gm, f"{level}_calibrated").periods[0]
        assert p.total == pytest.approx(total, abs=0.1)
        assert _arm(p, "N") == pytest.approx(total * 0.70 * n_share, abs=0.05)
        assert _arm(p, "E") == pytest.approx(total * 0.15, abs=0.05)


def test_shipped_yamls_regenerate_from_raw_counts(gm: JunctionSpec, tfgm_1415: Path) -> None:
    for profile in gm_a56_profiles(tfgm_1415):
        shipped = resolve_demand(gm, profile.name)
        assert shipped.periods == profile.periods, profile.name
        assert shipped.vehicle_mix == profile.vehicle_mix is not None


@pytest.fixture(scope="module")
def counts_1415(tfgm_1415: Path) -> pd.DataFrame:
    return load_counts(f"tfgm:{tfgm_1415}")


def test_explicit_map_and_scale(gm: JunctionSpec, counts_1415, site_flows) -> None:
    fit = split_counts(counts_1415).fit
    cal = calibrate_demand(
        gm, fit, "8-9", approach_map={"NorthEast": "N", "SouthWest": "S"}, scale=1
    )
    assert cal.scale == 1 and cal.first_hour == 8
    assert _arm(cal.profile.periods[0], "N") == pytest.approx(site_flows.loc[8, "NorthEast"], 0.01)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"approach_map": {"NorthEast": "X"}}, "no such arm"),
        ({"approach_map": {"Nowhere": "N"}}, "not in the counts"),
        ({"approach_map": {"NorthEast": "N", "SouthWest": "N"}}, "counted more than once"),
        ({"scale": "-2"}, "--scale"),
        ({"scale": "big"}, "--scale"),
        ({"site": "999"}, "--site 999"),
        ({"profile": "morning"}, "unknown profile"),
    ],
)
def test_bad_options(gm: JunctionSpec, counts_1415, kwargs, message) -> None:
    kwargs = {"profile": "8-9", **kwargs}
    with pytest.raises(CalibrationError, match=message):
        calibrate_demand(gm, counts_1415, **kwargs)


def test_an_absurd_scale_is_refused_before_routing(gm: JunctionSpec, counts_1415) -> None:
    """--scale 1e9 was accepted and hung in routeSampler: now the flows are held to the
    plausibility bound every demand meets (3 x the approach lanes' saturation flow)."""
    from intergreen.junctions.spec import SpecError

    with pytest.raises(SpecError, match=r"--scale 1e\+09: periods.0 .* veh/h into the junction "
                       r"is implausible; at most 32400 veh/h"):  # fmt: skip
        calibrate_demand(gm, counts_1415, "8-9", scale=1e9)
    assert calibrate_demand(gm, counts_1415, "8-9", scale=5).scale == 5  # 21,000 veh/h: allowed


def test_missing_hours_named(gm: JunctionSpec, counts_1415) -> None:
    part = counts_1415[counts_1415["interval_start"].dt.hour.between(7, 9)]
    with pytest.raises(CalibrationError, match="clock hour"):
        calibrate_demand(gm, part, "weekday")
    assert len(calibrate_demand(gm, part, "am_peak").profile.periods) == 3


def test_unmappable_directions(gm: JunctionSpec, counts_1415) -> None:
    other = counts_1415.assign(site="77")
    with pytest.raises(CalibrationError, match="--approach-map"):
        calibrate_demand(gm, other, "8-9")


def test_partial_approach_map_is_refused(gm: JunctionSpec, counts_1415) -> None:
    """A map that leaves a counted direction out dropped its counts and still calibrated (on
    half the data, another scale); now it is refused, unless the direction is left out with
    DIRECTION=- on purpose."""
    with pytest.raises(CalibrationError) as exc:
        calibrate_demand(gm, counts_1415, "8-9", approach_map={"NorthEast": "S"})
    assert str(exc.value) == (
        "--approach-map NorthEast=S leaves counted direction(s) site 1415 SouthWest without an "
        "arm, which would drop their counts: map every counted direction, e.g. --approach-map "
        "NorthEast=S,SouthWest=ARM (arms: N, E, S, W), or leave one out on purpose with "
        "DIRECTION=-"
    )
    cal = calibrate_demand(
        gm, counts_1415, "8-9", approach_map={"NorthEast": "S", "SouthWest": "-"}, scale=1
    )
    assert cal.approach_map == {("1415", "NorthEast"): "S"}
    assert list(cal.observed.columns) == ["S"]
    with pytest.raises(CalibrationError, match="leaves every counted direction out"):
        calibrate_demand(gm, counts_1415, "8-9", approach_map={"NorthEast": "-", "SouthWest": "-"})


def test_approach_column_must_name_an_arm(gm: JunctionSpec, counts_1415) -> None:
    """A long CSV's 'approach' that is no arm (the old docstring's ``north``) was skipped for
    the site's built-in map, so ``north`` on NorthEast traffic went to arm S."""
    north = counts_1415.assign(approach="north")
    with pytest.raises(CalibrationError) as exc:
        arm_hourly_flows(gm, north, source="my.csv")
    assert str(exc.value) == (
        "my.csv: column 'approach' holds 'north' for site 1415 NorthEast, which is not an arm "
        "of gm_a56 (arms: N, E, S, W): write the one arm that traffic arrives on, or map the "
        "direction with --approach-map NorthEast=ARM"
    )
    # an --approach-map places every direction itself
    _, mapping = arm_hourly_flows(gm, north, {"NorthEast": "N", "SouthWest": "S"})
    assert mapping == {("1415", "NorthEast"): "N", ("1415", "SouthWest"): "S"}
    # arms in the column are used as given, against the built-in map
    arms = counts_1415.assign(
        approach=counts_1415["direction"].map({"NorthEast": "N", "SouthWest": "S"})
    )
    assert arm_hourly_flows(gm, arms)[1] == mapping
    # the direction of travel as approach (a TfGM export's) takes the built-in map
    assert arm_hourly_flows(gm, counts_1415)[1] == {
        ("1415", "NorthEast"): "S",
        ("1415", "SouthWest"): "N",
    }


def test_variant_takes_its_base_approach_map(counts_1415) -> None:
    """gm_a56_max_green extends gm_a56 and uses its demand files, so its built-in count map
    too (was looked up by its own name: "cannot tell which arm ...")."""
    variant = resolve_junction("gm_a56_max_green")
    assert variant.extends == "gm_a56"
    cal = calibrate_demand(variant, counts_1415, "8-9", scale=1)
    assert cal.approach_map == {("1415", "NorthEast"): "S", ("1415", "SouthWest"): "N"}
    base = calibrate_demand(resolve_junction("gm_a56"), counts_1415, "8-9", scale=1)
    assert cal.profile.periods == base.profile.periods


def test_parse_approach_map() -> None:
    assert parse_approach_map("NorthEast=S, SouthWest=N") == {"NorthEast": "S", "SouthWest": "N"}
    assert parse_approach_map(None) is None
    with pytest.raises(CalibrationError, match="DIRECTION=ARM"):
        parse_approach_map("NorthEast")
    assert profile_hours("0-24") == (0, 24)


def test_scale_note_names_the_level_actually_scaled_to(gm: JunctionSpec, site_flows) -> None:
    a = load_assumptions(gm)
    observed = pd.DataFrame({"N": site_flows["SouthWest"], "S": site_flows["NorthEast"]})
    k = resolve_scale(observed, a, "auto")
    assert k * observed.sum(axis=1).max() / 0.70 == pytest.approx(2400)  # v1's high, not 2540
    assert scale_note(observed, a, "auto", k) == (
        "Counts x 0.5686 (scaled): the counted road carries more than the modelled junction, "
        "so the busiest counted hour (08:00-09:00, 4,221 veh/h into the junction with the "
        "uncounted arms at their demand.yaml shares) becomes the highest level, high_v1 = "
        "2,400 veh/h (version v1 of demand.yaml, the study's stated totals; the current high "
        "is 2,540 veh/h; auto scale, one factor for every hour)."
    )
    # without a v1 the current levels are the target, and the sentence says so
    current = a.model_copy(update={"versions": {}})
    k = resolve_scale(observed, current, "auto")
    assert k * observed.sum(axis=1).max() / 0.70 == pytest.approx(2540)
    assert scale_note(observed, current, "auto", k).endswith(
        "becomes the highest level, high = 2,540 veh/h (the junction's current levels in "
        "demand.yaml; auto scale, one factor for every hour)."
    )
    assert scale_note(observed / 3, a, "auto", 1.0) == (
        "Counts x 1 (auto: the busiest hour is within the highest level, high_v1 = 2,400 veh/h; "
        "version v1 of demand.yaml, the study's stated totals; the current high is 2,540 veh/h)."
    )
