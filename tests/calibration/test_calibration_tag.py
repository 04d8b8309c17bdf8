"""TAG M3.1 flow and GEH criteria: the thresholds, the 85% rule, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from intergreen.calibration.tag import flow_criterion, flow_tolerance, tag_validation


def test_flow_tolerance_bands() -> None:
    # 100 veh/h below 700, 15% from 700 to 2,700, 400 veh/h above
    np.testing.assert_allclose(
        flow_tolerance([0, 699, 700, 1000, 2700, 2701, 5000]),
        [100, 100, 105, 150, 405, 400, 400],
    )


@pytest.mark.parametrize(
    ("modelled", "observed", "ok"),
    [
        (599, 500, True),  # 99 < 100
        (601, 500, False),  # 101 > 100
        (400, 500, True),  # exactly 100 below
        (1149, 1000, True),  # 14.9%
        (1151, 1000, False),  # 15.1%
        (850, 1000, True),  # exactly 15% below
        (3399, 3000, True),  # 399 < 400
        (3401, 3000, False),
    ],
)
def test_flow_criterion(modelled: float, observed: float, ok: bool) -> None:
    assert bool(flow_criterion(modelled, observed)) is ok


def table(n: int, n_bad_flow: int, n_bad_geh: int) -> pd.DataFrame:
    """``n`` counts of 1,000 veh/h: the first fail the flow criterion (+20%, GEH 6.0),
    then some fail only GEH (a count of 100 veh/h modelled 160: within 100, GEH 5.26)."""
    observed = np.full(n, 1000.0)
    modelled = np.full(n, 1010.0)
    modelled[:n_bad_flow] = 1200.0
    sl = slice(n_bad_flow, n_bad_flow + n_bad_geh)
    observed[sl], modelled[sl] = 100.0, 160.0
    return pd.DataFrame({"hour": range(n), "observed": observed, "modelled": modelled})


def test_exactly_85_percent_passes_and_84_fails() -> None:
    ok = tag_validation(table(20, 3, 0))  # 17 of 20
    assert ok.flow.n_met == 17 and ok.flow.passed and ok.geh.n_met == 17 and ok.passed
    assert ok.verdict() == "PASS"
    bad = tag_validation(table(20, 4, 0))  # 16 of 20
    assert not bad.flow.passed and not bad.geh.passed and not bad.passed
    assert bad.verdict() == "FAIL (flow criterion, GEH < 5)"
    assert bad.flow.verdict() == "FAIL flow criterion: 16 of 20 counts (80.0%; target >= 85%)"


def test_criteria_are_separate() -> None:
    # 4 counts of 100 veh/h modelled 160: within 100 veh/h, but GEH 5.26
    v = tag_validation(table(20, 0, 4))
    assert v.flow.passed and v.flow.n_met == 20
    assert not v.geh.passed and v.geh.n_met == 16
    assert v.verdict() == "FAIL (GEH < 5)"
    row = v.table.iloc[0]
    assert row["geh"] == pytest.approx(np.sqrt(2 * 60**2 / 260)) and not row["geh_ok"]
    assert row["tolerance"] == 100 and row["flow_ok"] and row["diff"] == 60
    assert list(v.worst(2)["hour"]) == [0, 1]


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="modelled"):
        tag_validation(pd.DataFrame({"observed": [1.0]}))
    with pytest.raises(ValueError, match="at least one count"):
        tag_validation(pd.DataFrame({"observed": [], "modelled": []}))
    with pytest.raises(ValueError, match=">= 0"):
        tag_validation(pd.DataFrame({"observed": [-1.0], "modelled": [1.0]}))
