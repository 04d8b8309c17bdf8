"""Fit days and held-out days: the February 2018 split, other choices, bad --holdout."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from intergreen.calibration.counts import load_counts
from intergreen.calibration.errors import CalibrationError
from intergreen.calibration.holdout import split_counts, validation_caution


@pytest.fixture(scope="module")
def counts(tfgm_1415: Path) -> pd.DataFrame:
    return load_counts(f"tfgm:{tfgm_1415}")


def test_auto_is_weeks_1_2_then_3_4(counts: pd.DataFrame) -> None:
    split = split_counts(counts)
    assert split.fit_days[0] == date(2018, 2, 1) and split.fit_days[-1] == date(2018, 2, 14)
    assert split.held_out_days[0] == date(2018, 2, 15)
    assert split.held_out_days[-1] == date(2018, 2, 28)
    assert len(split.fit_days) == len(split.held_out_days) == 10
    for days in (split.fit_days, split.held_out_days):
        assert all(d.weekday() < 5 for d in days)
        assert Counter(d.weekday() for d in days) == {0: 2, 1: 2, 2: 2, 3: 2, 4: 2}
    fit_dates = set(split.fit["interval_start"].dt.date)
    held_dates = set(split.held_out["interval_start"].dt.date)
    assert not fit_dates & held_dates
    assert max(fit_dates) < min(held_dates) == date(2018, 2, 15)
    assert len(split.fit) + len(split.held_out) == len(counts)
    assert split.describe() == (
        "fit on 10 days 2018-02-01..2018-02-14; held out 10 days 2018-02-15..2018-02-28"
    )


def test_given_date_and_none(counts: pd.DataFrame) -> None:
    split = split_counts(counts, "2018-02-20")
    assert split.fit_days[-1] == date(2018, 2, 19) and len(split.held_out_days) == 7
    assert not split_counts(counts, "none").has_held_out
    assert len(split_counts(counts, "none").fit_days) == 20


def test_one_day_holds_nothing_out(counts: pd.DataFrame) -> None:
    one = counts[counts["interval_start"].dt.date == date(2018, 2, 6)]
    split = split_counts(one)
    assert not split.has_held_out and split.fit_days == (date(2018, 2, 6),)


def test_missing_or_thin_validation_is_named(counts: pd.DataFrame) -> None:
    """One counted day (auto holds nothing out), --holdout none, or a single held-out day
    gave no word of caution; the auto split of February (10 held-out days) needs none."""
    one = counts[counts["interval_start"].dt.date == date(2018, 2, 6)]
    assert validation_caution(split_counts(one), "auto", False) == (
        "no out-of-sample validation: the counts cover only 1 day 2018-02-06, too few to hold "
        "any out (--holdout auto needs two), so the demand is checked only in-sample, against "
        "the counts it was fitted to; count more days to validate it"
    )
    assert validation_caution(split_counts(counts, "none"), "none", False).startswith(
        "no out-of-sample validation: --holdout none fits on every counted day, so"
    )
    assert validation_caution(split_counts(counts, "2018-02-28"), "2018-02-28", True) == (
        "thin out-of-sample validation: on 1 day 2018-02-28 only, fewer than 5 (a working "
        "week) for a weekday mean; hold out more days (an earlier --holdout date, or count "
        "more days)"
    )
    assert validation_caution(split_counts(counts, "2018-02-22"), "2018-02-22", True) == ""
    assert validation_caution(split_counts(counts), "auto", True) == ""
    assert "hold no count in the profile's hours" in validation_caution(
        split_counts(counts), "auto", False
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("weeks", "--holdout 'weeks': use auto, none or the first held-out date"),
        ("2018-02-01", "leaves no counted days for the fit"),
        ("2018-03-01", "leaves all counted days for the fit"),
    ],
)
def test_bad_holdout(counts: pd.DataFrame, value: str, message: str) -> None:
    with pytest.raises(CalibrationError, match=message):
        split_counts(counts, value)
