"""GEH against hand-computed values and the 85 % criterion at its boundary."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from intergreen.calibration.geh import geh, geh_summary


def test_hand_computed_values() -> None:
    # sqrt(2 * 10^2 / 210) = sqrt(0.952381) = 0.97590
    assert geh(110, 100) == pytest.approx(0.9759, abs=5e-5)
    assert geh(100, 110) == pytest.approx(geh(110, 100))
    # sqrt(2 * 400^2 / 2400) = sqrt(133.33) = 11.547
    assert geh(1400, 1000) == pytest.approx(11.5470, abs=5e-5)
    assert geh(12.5, 0) == 5.0  # sqrt(2 * 156.25 / 12.5) = sqrt(25)
    assert geh(0, 0) == 0.0
    assert isinstance(geh(1, 2), float)


def test_vectorised() -> None:
    modelled = np.array([110.0, 1400.0, 0.0, 500.0])
    observed = pd.Series([100.0, 1000.0, 0.0, 500.0])
    expected = [math.sqrt(2 * 100 / 210), math.sqrt(2 * 160_000 / 2400), 0.0, 0.0]
    np.testing.assert_allclose(geh(modelled, observed), expected)


def test_rejects_negative_and_missing() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        geh([-1.0], [5.0])
    with pytest.raises(ValueError, match="finite"):
        geh([np.nan], [5.0])


def comparison(n_good: int, n_bad: int) -> pd.DataFrame:
    observed = [1000.0] * (n_good + n_bad)
    modelled = [1000.0] * n_good + [1400.0] * n_bad  # GEH 0 and 11.5
    return pd.DataFrame({"hour": range(n_good + n_bad), "observed": observed, "modelled": modelled})


def test_85_percent_boundary() -> None:
    at = geh_summary(comparison(17, 3))  # exactly 85 %
    assert at.passed and at.n_below == 17 and at.share_below == pytest.approx(0.85)
    assert at.verdict().startswith("PASS")
    below = geh_summary(comparison(16, 3))  # 84.2 %
    assert not below.passed and below.verdict().startswith("FAIL")
    assert not geh_summary(comparison(16, 4)).passed  # 80 %


def test_geh_of_exactly_5_is_not_below() -> None:
    df = pd.DataFrame({"observed": [0.0] * 20, "modelled": [0.0] * 17 + [12.5] * 3})
    assert geh_summary(df).passed  # 17 of 20 below
    df.loc[16, "modelled"] = 12.5  # GEH exactly 5 does not count as < 5
    summary = geh_summary(df)
    assert summary.n_below == 16 and not summary.passed


def test_worst_mismatches_and_table() -> None:
    df = pd.DataFrame(
        {
            "site": ["a", "b", "c"],
            "observed": [100.0, 100.0, 100.0],
            "modelled": [100.0, 300.0, 150.0],
        }
    )
    summary = geh_summary(df, n_worst=2)
    assert summary.worst["site"].tolist() == ["b", "c"]
    assert summary.table["diff"].tolist() == [0.0, 200.0, 50.0]
    assert summary.table["geh"].iloc[1] == pytest.approx(math.sqrt(2 * 200**2 / 400))
    with pytest.raises(ValueError, match="modelled"):
        geh_summary(df.drop(columns="modelled"))


def test_verdict_says_what_the_count_in_brackets_is() -> None:
    """The bracket names the counts below the threshold out of all (was a bare ``(47;``)."""
    df = pd.DataFrame({"observed": [100.0] * 48, "modelled": [100.0] * 47 + [300.0]})
    assert geh_summary(df).verdict() == (
        "PASS: GEH < 5 for 97.9% of 48 counts (47 of 48; target >= 85%)"
    )
