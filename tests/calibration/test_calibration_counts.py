"""Counts: long-format round trip, every validation error, and the TfGM importer."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from intergreen.calibration.counts import (
    COUNT_COLUMNS,
    CountsError,
    load_counts,
    read_counts_csv,
    read_tfgm_atc,
    write_counts,
)

HEADER = "site,approach,lane,direction,interval_start,interval_minutes,count"
GOOD_ROWS = [
    "1415,south,NE_NS,NorthEast,2018-02-01T07:00:00,60,769",
    "1415,south,NE_OS,NorthEast,2018-02-01T07:00:00,60,692",
    "1415,south,NE_NS,NorthEast,2018-02-01T08:00:00,60,829",
    "1415,north,SW,SouthWest,2018-02-01T07:00:00,15,310",
    "1415,north,SW,SouthWest,2018-02-01T07:15:00,15,320.5",
]


def write_csv(tmp_path: Path, rows: list[str], header: str = HEADER) -> Path:
    path = tmp_path / "counts.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def test_round_trip(tmp_path: Path) -> None:
    path = write_csv(tmp_path, GOOD_ROWS)
    counts = load_counts(str(path))
    assert list(counts.columns) == list(COUNT_COLUMNS)
    assert len(counts) == 5
    assert counts["count"].tolist() == [769, 692, 829, 310, 320.5]
    assert counts["interval_start"].iloc[0] == pd.Timestamp("2018-02-01 07:00")
    assert counts["interval_minutes"].tolist() == [60, 60, 60, 15, 15]
    again = read_counts_csv(write_counts(counts, tmp_path / "out" / "again.csv"))
    pd.testing.assert_frame_equal(again, counts)


def test_lane_column_is_optional(tmp_path: Path) -> None:
    header = "site,approach,direction,interval_start,interval_minutes,count"
    path = write_csv(tmp_path, ["1,north,South,2018-02-01 07:00,60,5"], header=header)
    counts = read_counts_csv(path)
    assert counts["lane"].tolist() == [""]


def test_missing_column_named(tmp_path: Path) -> None:
    header = "site,approach,lane,direction,interval_start,interval_minutes"
    path = write_csv(tmp_path, ["1,n,L1,S,2018-02-01T07:00:00,60"], header=header)
    with pytest.raises(CountsError) as err:
        read_counts_csv(path)
    message = str(err.value)
    assert str(path) in message
    assert "missing column" in message and "'count'" in message
    assert HEADER in message  # the fix: the header to use


def test_non_numeric_count(tmp_path: Path) -> None:
    rows = [*GOOD_ROWS[:1], "1415,south,NE_OS,NorthEast,2018-02-01T07:00:00,60,lots"]
    with pytest.raises(CountsError, match=r"'count' is not a number on line 3.*'lots'") as err:
        read_counts_csv(write_csv(tmp_path, rows))
    assert "counts.csv" in str(err.value)


def test_negative_count(tmp_path: Path) -> None:
    rows = [*GOOD_ROWS[:2], "1415,south,NE_NS,NorthEast,2018-02-01T08:00:00,60,-3"]
    with pytest.raises(CountsError, match=r"'count' is negative on line 4.*>= 0"):
        read_counts_csv(write_csv(tmp_path, rows))


def test_bad_interval_start(tmp_path: Path) -> None:
    rows = ["1415,south,NE_NS,NorthEast,01/02/18 07:00,60,5"]
    with pytest.raises(CountsError, match=r"'interval_start' is not an ISO date-time on line 2"):
        read_counts_csv(write_csv(tmp_path, rows))


def test_bad_interval_minutes(tmp_path: Path) -> None:
    rows = ["1415,south,NE_NS,NorthEast,2018-02-01T07:00:00,0,5"]
    with pytest.raises(CountsError, match=r"'interval_minutes' is not a positive whole number"):
        read_counts_csv(write_csv(tmp_path, rows))


def test_duplicate_interval(tmp_path: Path) -> None:
    rows = [*GOOD_ROWS, GOOD_ROWS[0].replace(",769", ",770")]
    with pytest.raises(CountsError) as err:
        read_counts_csv(write_csv(tmp_path, rows))
    message = str(err.value)
    assert "duplicate intervals" in message
    assert "site '1415', approach 'south', lane 'NE_NS'" in message
    assert "line 2" in message and "line 7" in message


def test_overlapping_interval(tmp_path: Path) -> None:
    # a 60-minute interval from 07:00 overlaps the 15-minute one from 07:15 (same lane)
    rows = [GOOD_ROWS[3].replace(",15,310", ",60,1240"), GOOD_ROWS[4]]
    with pytest.raises(CountsError, match=r"overlapping intervals .*lane 'SW'.*line 2.*line 3"):
        read_counts_csv(write_csv(tmp_path, rows))


def test_same_time_different_lane_is_fine(tmp_path: Path) -> None:
    assert len(read_counts_csv(write_csv(tmp_path, GOOD_ROWS[:2]))) == 2


def test_unknown_approach(tmp_path: Path) -> None:
    path = write_csv(tmp_path, GOOD_ROWS)
    with pytest.raises(CountsError) as err:
        read_counts_csv(path, known_approaches={"north", "east", "west"})
    message = str(err.value)
    assert "unknown approach" in message and "'south'" in message
    assert "lines 2, 3, 4" in message and "use one of east, north, west" in message
    assert len(load_counts(path, known_approaches={"north", "south"})) == 5


def test_missing_file_and_empty_spec(tmp_path: Path) -> None:
    with pytest.raises(CountsError, match="no such counts file"):
        load_counts(str(tmp_path / "nope.csv"))
    with pytest.raises(CountsError, match="no such TfGM export"):
        load_counts(f"tfgm:{tmp_path / 'nope.csv'}")
    with pytest.raises(CountsError, match="empty counts spec"):
        load_counts("  ")


def test_tfgm_importer_on_real_export(tfgm_1415: Path) -> None:
    counts = load_counts(f"tfgm:{tfgm_1415}")
    raw = pd.read_csv(tfgm_1415)
    assert len(counts) == len(raw) == 2016
    assert set(counts["site"]) == {"1415"}
    assert set(counts["lane"]) == {"NE_NS", "NE_OS", "SW"}
    assert set(zip(counts["lane"], counts["direction"], strict=True)) == {
        ("NE_NS", "NorthEast"),
        ("NE_OS", "NorthEast"),
        ("SW", "SouthWest"),
    }
    assert (counts["approach"] == counts["direction"]).all()
    assert (counts["interval_minutes"] == 60).all()
    assert counts["count"].sum() == raw["Volume"].sum()
    first = counts.iloc[0]
    assert (first["lane"], first["interval_start"], first["count"]) == (
        "NE_NS",
        pd.Timestamp("2018-02-01 00:00"),
        75,
    )
    # dates are dd/mm/yy: read day first, so the month runs 1-28 February
    assert counts["interval_start"].min() == pd.Timestamp("2018-02-01")
    assert counts["interval_start"].max() == pd.Timestamp("2018-02-28 23:00")


def test_tfgm_approach_map(tfgm_1415: Path) -> None:
    counts = read_tfgm_atc(tfgm_1415, approach_map={"NorthEast": "south", "SouthWest": "north"})
    assert set(counts["approach"]) == {"north", "south"}
    assert set(counts["direction"]) == {"NorthEast", "SouthWest"}


def test_tfgm_wrong_columns(tmp_path: Path) -> None:
    path = write_csv(tmp_path, GOOD_ROWS)
    with pytest.raises(CountsError, match=r"missing TfGM column.*'Volume'.*drop the 'tfgm:'"):
        load_counts(f"tfgm:{path}")


def test_tfgm_bad_volume(tmp_path: Path, tfgm_1415: Path) -> None:
    lines = tfgm_1415.read_text().splitlines()[:4]
    lines[2] = lines[2].replace(",122,", ",n/a,")
    path = tmp_path / "rawpvr_bad.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(CountsError, match=r"'Volume' is not a number on line 3 .*'n/a'"):
        read_tfgm_atc(path)
