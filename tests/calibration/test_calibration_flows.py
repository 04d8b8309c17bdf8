"""Derived flows: weekday means against an independent pandas computation, TRA0307."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from intergreen.calibration import derive
from intergreen.calibration.counts import CountsError, load_counts
from intergreen.calibration.flows import (
    ALL_LANES,
    HourlyProfile,
    load_tra0307,
    tra0307_weekday_profile,
    weekday_hourly_flows,
)

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def flows_1415(tfgm_1415: Path) -> pd.DataFrame:
    return weekday_hourly_flows(load_counts(f"tfgm:{tfgm_1415}"))


def independent_weekday_mean(
    raw_path: Path, lanes: list[str], hour: int, first_day: int = 1
) -> tuple[float, int]:
    """Weekday mean of the summed lane volumes in one hour, straight from the raw file
    (days of the month from ``first_day``)."""
    raw = pd.read_csv(raw_path)
    when = pd.to_datetime(raw["date"], format="%d/%m/%y %H:%M:%S")
    pick = raw[
        when.dt.day_of_week.lt(5)
        & when.dt.hour.eq(hour)
        & raw["LaneDescription"].isin(lanes)
        & when.dt.day.ge(first_day)
    ]
    per_day = pick.groupby(when[pick.index].dt.date)["Volume"].sum()
    return float(per_day.mean()), len(per_day)


@pytest.mark.parametrize(
    ("direction", "lane", "lanes", "hour"),
    [
        ("NorthEast", ALL_LANES, ["NE_NS", "NE_OS"], 8),
        ("NorthEast", "NE_OS", ["NE_OS"], 17),
        ("SouthWest", ALL_LANES, ["SW"], 7),
    ],
)
def test_weekday_mean_matches_raw(
    flows_1415: pd.DataFrame,
    tfgm_1415: Path,
    direction: str,
    lane: str,
    lanes: list[str],
    hour: int,
) -> None:
    expected, n_days = independent_weekday_mean(tfgm_1415, lanes, hour)
    row = flows_1415.query("direction == @direction and lane == @lane and hour == @hour")
    assert len(row) == 1
    assert row["mean_veh_h"].iloc[0] == pytest.approx(expected)
    assert row["n_days"].iloc[0] == n_days == 20


def test_shape_of_flows(flows_1415: pd.DataFrame) -> None:
    assert set(flows_1415["lane"]) == {ALL_LANES, "NE_NS", "NE_OS", "SW"}
    assert (flows_1415.groupby(["direction", "lane"]).size() == 24).all()
    totals = flows_1415[flows_1415["lane"] == ALL_LANES].set_index(["direction", "hour"])
    assert totals.loc[("NorthEast", 0), "n_lanes"] == 2
    lanes = flows_1415[flows_1415["lane"] != ALL_LANES].groupby(["direction", "hour"])
    np.testing.assert_allclose(totals["mean_veh_h"], lanes["mean_veh_h"].sum()[totals.index])
    assert (flows_1415["std_veh_h"] > 0).all()


def test_site_1083_matches_sources_note(tfgm_1083: Path) -> None:
    flows = weekday_hourly_flows(load_counts(f"tfgm:{tfgm_1083}"), per_lane=False)
    peak = flows.loc[flows.groupby("direction")["mean_veh_h"].idxmax()].set_index("direction")
    # SOURCES.md: about 2,995 veh/h northbound at 07-08, 2,943 southbound at 16-17
    assert peak.loc["North", "hour"] == 7 and round(peak.loc["North", "mean_veh_h"]) == 2995
    assert peak.loc["South", "hour"] == 16 and round(peak.loc["South", "mean_veh_h"]) == 2943


def test_incomplete_hour_is_left_out() -> None:
    rows = []
    for day in (1, 2):  # Thursday, Friday
        for lane in ("A", "B"):
            if day == 2 and lane == "B":
                continue  # lane B missing on the Friday
            rows.append(("7", "n", lane, "North", f"2018-02-0{day}T08:00", 60, 100.0))
    rows.append(("7", "n", "A", "North", "2018-02-03T08:00", 60, 999.0))  # a Saturday
    counts = pd.DataFrame(
        rows,
        columns=[
            "site",
            "approach",
            "lane",
            "direction",
            "interval_start",
            "interval_minutes",
            "count",
        ],
    )
    flows = weekday_hourly_flows(counts).set_index("lane")
    assert flows.loc[ALL_LANES, "mean_veh_h"] == 200 and flows.loc[ALL_LANES, "n_days"] == 1
    assert flows.loc["A", "mean_veh_h"] == 100 and flows.loc["A", "n_days"] == 2
    assert flows.loc["B", "n_days"] == 1


def test_quarter_hours_sum_to_hourly_flow() -> None:
    counts = pd.DataFrame(
        {
            "site": "1",
            "approach": "n",
            "direction": "North",
            "interval_start": pd.date_range("2018-02-01 07:00", periods=4, freq="15min"),
            "interval_minutes": 15,
            "count": [10.0, 20.0, 30.0, 40.0],
        }
    )
    flows = weekday_hourly_flows(counts, per_lane=False)
    assert flows["mean_veh_h"].tolist() == [100.0] and flows["hour"].tolist() == [7]


def test_hourly_rows_declared_15_minutes_name_the_file_and_the_gaps() -> None:
    """Hourly rows declared 15 minutes long leave 45 minutes of every hour uncounted: the
    error names the file and says the intervals do not tile the hour (was: "no complete
    hourly counts on the chosen days", naming neither)."""
    counts = pd.DataFrame(
        {
            "site": "1",
            "approach": "N",
            "direction": "North",
            "interval_start": pd.date_range("2018-02-06 07:00", periods=3, freq="h"),
            "interval_minutes": 15,
            "count": [400.0, 500.0, 450.0],
        }
    )
    with pytest.raises(CountsError) as exc:
        weekday_hourly_flows(counts, per_lane=False, source="my_counts.csv")
    assert str(exc.value) == (
        "my_counts.csv: no clock hour is fully counted: the intervals do not tile the hour "
        "(e.g. site 1 North on 2018-02-06 at 07:00 has 1 interval(s) of 15 min, 15 of 60 "
        "minutes); give every hour all of its intervals (4 of 15 min), or, for hourly counts, "
        "interval_minutes 60"
    )
    # the same rows as 60-minute intervals are hourly flows
    flows = weekday_hourly_flows(counts.assign(interval_minutes=60), per_lane=False)
    assert flows["mean_veh_h"].tolist() == [400.0, 500.0, 450.0]


def test_committed_csv_is_reproducible(tfgm_1083: Path, tfgm_1415: Path) -> None:
    committed = pd.read_csv(PROJECT / "data" / derive.FLOWS_FILENAME, dtype={"site": str})
    fresh, days = derive.derive_chester_road([tfgm_1083, tfgm_1415])
    assert len(days) == 20
    pd.testing.assert_frame_equal(
        committed, fresh.astype(committed.dtypes.to_dict()), check_exact=False, atol=0.006
    )


def test_derive_writes_csv_and_provenance(tmp_path: Path, gm_data: Path) -> None:
    (tmp_path / "PROVENANCE.md").write_text("# Provenance\n\n## other.csv\nkeep me\n")
    assert derive.main(["--data-dir", str(gm_data), "--out-dir", str(tmp_path)]) == 0
    flows = pd.read_csv(tmp_path / derive.FLOWS_FILENAME, dtype={"site": str})
    assert set(flows["site"]) == {"1083", "1415"}
    text = (tmp_path / "PROVENANCE.md").read_text()
    assert "keep me" in text
    assert "rawpvr_2018_02_01_28d_1415.csv" in text and "Thu 01" in text and "Wed 28" in text
    assert "Sat" not in text.split("Days counted as weekdays")[1].split("Excluded")[0]
    assert "## gm_chester_road_holdout_hourly.csv" in text and "weeks 3-4" in text
    assert "## gm_chester_road_vehicle_mix.csv" in text and "on every row" in text
    assert derive.main(["--data-dir", str(gm_data), "--out-dir", str(tmp_path)]) == 0
    again = (tmp_path / "PROVENANCE.md").read_text()
    for name in (derive.FLOWS_FILENAME, derive.HOLDOUT_FILENAME, derive.MIX_FILENAME):
        assert again.count(f"## {name}") == 1
        assert (tmp_path / name).stat().st_size > 0
    assert not list(tmp_path.glob(".*tmp"))


def test_committed_holdout_csv_is_reproducible(tfgm_1083: Path, tfgm_1415: Path) -> None:
    committed = pd.read_csv(PROJECT / "data" / derive.HOLDOUT_FILENAME, dtype={"site": str})
    fresh, split = derive.derive_holdout([tfgm_1083, tfgm_1415])
    pd.testing.assert_frame_equal(
        committed, fresh.astype(committed.dtypes.to_dict()), check_exact=False, atol=0.006
    )
    assert set(committed["part"]) == {"fit", "held_out"}
    assert (committed["n_days"] == 10).all()
    # the held-out mean is the raw mean over weekdays 15-28 February
    expected, n = independent_weekday_mean(tfgm_1415, ["SW"], 7, first_day=15)
    row = committed.query("part == 'held_out' and direction == 'SouthWest' and hour == 7")
    assert row["mean_veh_h"].iloc[0] == pytest.approx(expected, abs=0.006) and n == 10


def test_tra0307_profile(gm_data: Path) -> None:
    path = gm_data / "dft_tra0307" / "tra0307_hourly_index_by_weekday.csv"
    table = load_tra0307(path)
    assert table.shape == (24, 7)
    profile = tra0307_weekday_profile(path)
    assert profile(8) == pytest.approx((174 + 186.3 + 186.7 + 185.6 + 167.2) / 5)
    assert profile(24) == profile(0)
    assert profile.shares().sum() == pytest.approx(1.0)
    assert profile.scaled_to(10_000).sum() == pytest.approx(10_000)
    assert profile.scaled_to(500, hours=[7, 8]).sum() == pytest.approx(500)
    assert profile(2) < profile(17)


def test_hourly_profile_rejects_bad_values() -> None:
    with pytest.raises(ValueError, match="24 values"):
        HourlyProfile((1.0,) * 23)
    with pytest.raises(ValueError, match=">= 0"):
        HourlyProfile((1.0,) * 23 + (-1.0,))
