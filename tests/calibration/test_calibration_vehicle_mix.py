"""The A56 vehicle mix: the export's HGV definition, shares from the raw files, data/, bad input."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from intergreen.calibration.counts import CountsError
from intergreen.calibration.derive import MIX_FILENAME
from intergreen.calibration.errors import CalibrationError
from intergreen.calibration.vehicle_mix import (
    dft_lgv_share,
    hgv_definition_holds,
    parse_vehicle_mix,
    read_tfgm_classes,
    site_vehicle_mix,
)

DATA = Path(__file__).resolve().parents[2] / "data" / MIX_FILENAME
FIT_DAYS = [d.date() for d in pd.date_range("2018-02-01", "2018-02-14") if d.weekday() < 5]


def raw_weekdays(path: Path, days: list[date] | None = None) -> pd.DataFrame:
    raw = pd.read_csv(path)
    when = pd.to_datetime(raw["date"], format="%d/%m/%y %H:%M:%S")
    keep = when.dt.day_of_week.lt(5) if days is None else when.dt.date.isin(days)
    return raw[keep]


def test_pml_hgv_is_classes_4_and_5(tfgm_1415: Path, tfgm_1083: Path) -> None:
    for path in (tfgm_1415, tfgm_1083):
        classes = read_tfgm_classes(path)
        assert hgv_definition_holds(classes)
        # classes 3-5 are not the export's HGVs: the definition check can fail
        wrong = classes.assign(class4=classes["class4"] + classes["class3"])
        assert not hgv_definition_holds(wrong)


def test_dft_lgv_share(gm_data: Path) -> None:
    # DfT AADF 2017, count point 58022, both directions: LGV 3316 + 3387, cars 30049 + 28448,
    # two-wheelers 197 + 190
    assert dft_lgv_share() == pytest.approx(6703 / (6703 + 58497 + 387))


def test_site_1415_mix_from_raw(tfgm_1415: Path) -> None:
    raw = raw_weekdays(tfgm_1415, FIT_DAYS)
    volume = raw["Volume"].sum()
    hgv = (raw["Class4Volume"] + raw["Class5Volume"]).sum() / volume
    bus = raw["Class6Volume"].sum() / volume
    light = 1 - hgv - bus
    lgv = dft_lgv_share()
    mix = site_vehicle_mix(tfgm_1415, days=FIT_DAYS)
    assert mix["hgv"] == pytest.approx(hgv, abs=5e-5) and 0.10 < mix["hgv"] < 0.12
    assert mix["bus"] == pytest.approx(bus, abs=5e-5)
    assert mix["van"] == pytest.approx(light * lgv, abs=5e-5)
    assert mix["car"] == pytest.approx(light * (1 - lgv), abs=2e-4)
    assert sum(mix.values()) == pytest.approx(1, abs=1e-9)
    north_east = site_vehicle_mix(tfgm_1415, days=FIT_DAYS, directions={("1415", "NorthEast")})
    assert north_east["hgv"] < mix["hgv"] < 0.15  # SouthWest carries more HGVs


def test_committed_mix_is_reproducible(tfgm_1415: Path, tfgm_1083: Path) -> None:
    table = pd.read_csv(DATA, dtype={"site": str})
    for path, site in ((tfgm_1415, "1415"), (tfgm_1083, "1083")):
        for days, part in ((None, "all_weekdays"), (FIT_DAYS, "fit_days")):
            row = table[(table["site"] == site) & (table["direction"] == "both")]
            row = row[row["days"] == part].iloc[0]
            raw = raw_weekdays(path, days)
            assert row["vehicles"] == raw["Volume"].sum()
            assert row["class4"] == raw["Class4Volume"].sum()
            mix = site_vehicle_mix(path, days=days)
            assert {k: row[f"{k}_share"] for k in mix} == pytest.approx(mix, abs=1e-9)


def test_shipped_profiles_use_the_measured_mix(tfgm_1415: Path) -> None:
    from intergreen.junctions.catalog import resolve_junction
    from intergreen.junctions.demand import resolve_demand

    gm = resolve_junction("gm_a56")
    mix = site_vehicle_mix(tfgm_1415, days=FIT_DAYS)
    # the levels and totals of demand.yaml too (issue 16); the levels before it were cars only
    for name in ("weekday", "am_peak", "pm_peak", "medium_calibrated", "medium", "1900vph"):
        assert resolve_demand(gm, name).vehicle_mix == mix, name
    assert resolve_demand(gm, "medium_v1").vehicle_mix is None


def test_export_without_classes(tmp_path: Path) -> None:
    path = tmp_path / "rawpvr.csv"
    path.write_text("date,Site ID,LaneDescription,DirectionDescription,Volume\n")
    with pytest.raises(CountsError, match=r"no vehicle classes \(missing column\(s\) PmlHGV"):
        read_tfgm_classes(path)


def test_parse_vehicle_mix() -> None:
    assert parse_vehicle_mix("auto") == "auto" and parse_vehicle_mix("Measured") == "measured"
    assert parse_vehicle_mix("cars") is None
    assert parse_vehicle_mix("car=0.9, hgv=0.1") == {"car": 0.9, "hgv": 0.1}
    for bad, why in (("car=0.9", "sum to 1"), ("lorry=1", "unknown"), ("car", "TYPE=SHARE")):
        with pytest.raises(CalibrationError, match=f"--vehicle-mix .*{why}"):
            parse_vehicle_mix(bad)


def test_unvalidated_mix_item_says_what_the_run_used(tfgm_1415: Path) -> None:
    """The report's "still unvalidated" vehicle-mix item said "taken from loop length classes"
    even where the run used cars only or the user's --vehicle-mix."""
    from intergreen.calibration.counts import load_counts
    from intergreen.calibration.holdout import split_counts
    from intergreen.calibration.pipeline import _vehicle_mix
    from intergreen.calibration.report import MEASURED_MIX_UNVALIDATED

    spec = f"tfgm:{tfgm_1415}"
    split = split_counts(load_counts(spec))
    mapping = {("1415", "NorthEast"): "S", ("1415", "SouthWest"): "N"}
    mix, _, item = _vehicle_mix("car=1", spec, split, mapping)
    assert mix == {"car": 1.0}
    assert item == (
        "The vehicle mix: as given by --vehicle-mix (car 100.00%), not compared with classified "
        "counts of the site or a manual count of the junction."
    )
    mix, note, item = _vehicle_mix("cars", spec, split, mapping)
    assert mix is None and note == "Vehicles: cars only (--vehicle-mix cars)."
    assert item == (
        "The vehicle mix: every vehicle is a passenger car (--vehicle-mix cars); the share of "
        "vans, HGVs and buses is not compared with classified counts of the site or a manual "
        "count of the junction."
    )
    mix, _, item = _vehicle_mix("auto", spec, split, mapping)
    assert mix is not None and item == MEASURED_MIX_UNVALIDATED
    assert "taken from loop length classes" in item


def test_the_saved_profile_says_where_its_mix_came_from(tfgm_1415: Path) -> None:
    """A profile calibrated with the user's --vehicle-mix said "(see data/PROVENANCE.md)" in
    its source, which documents the shipped site's measured mix, not the user's."""
    from intergreen.calibration.counts import load_counts
    from intergreen.calibration.demand_profiles import arm_hourly_flows, calibrated_from_flows
    from intergreen.calibration.holdout import split_counts
    from intergreen.calibration.pipeline import _vehicle_mix
    from intergreen.junctions.catalog import resolve_junction

    spec = resolve_junction("gm_a56")
    counts = f"tfgm:{tfgm_1415}"
    split = split_counts(load_counts(counts))
    observed, mapping = arm_hourly_flows(spec, split.fit, None, None, str(tfgm_1415))
    mix, note, _ = _vehicle_mix("car=0.9,hgv=0.1", counts, split, mapping)
    assert note == "Vehicle mix given (--vehicle-mix): car 90.00%, hgv 10.00%."
    cal = calibrated_from_flows(spec, observed, mapping, "am_peak", "x", "auto", "c", mix, note)
    assert note in cal.profile.source and "PROVENANCE" not in cal.profile.source
    assert cal.profile.vehicle_mix == {"car": 0.9, "hgv": 0.1}
