import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intergreen.tuning import LinearSpace, LogitSpace, LogSpace, Param
from intergreen.tuning.errors import SearchSpaceError
from intergreen.tuning.search_space import space_from_json


def test_basic_values_match_hand_computed() -> None:
    assert LogSpace(scale=0.5).to_basic(1e-4) == pytest.approx(-8.0)
    assert LinearSpace(scale=2.0).to_basic(3.0) == pytest.approx(1.5)
    assert LogitSpace().to_basic(0.9) == pytest.approx(math.log10(9.0))
    assert LogSpace(base=2.0).to_basic(8.0) == pytest.approx(3.0)
    assert LogitSpace(scale=0.5).from_basic(2.0) == pytest.approx(1 / 1.1)
    assert LogSpace().basic_bounds() == (-math.inf, math.inf)
    lo, hi = LogSpace(min=2, max=512, is_integer=True).basic_bounds()
    assert lo == pytest.approx(math.log10(1.9)) and hi == pytest.approx(math.log10(512.1))


@settings(max_examples=60, deadline=None)
@given(
    v=st.floats(1e-6, 1e6),
    scale=st.floats(0.1, 5.0),
    u=st.floats(1e-6, 1 - 1e-6),
    w=st.floats(-1e6, 1e6),
)
def test_round_trip(v: float, scale: float, u: float, w: float) -> None:
    assert LogSpace(scale=scale).from_basic(LogSpace(scale=scale).to_basic(v)) == pytest.approx(
        v, rel=1e-9
    )
    s = LogitSpace(scale=scale)
    assert s.from_basic(s.to_basic(u)) == pytest.approx(u, rel=1e-6, abs=1e-12)
    s2 = LinearSpace(scale=scale)
    assert s2.from_basic(s2.to_basic(w)) == pytest.approx(w, rel=1e-12, abs=1e-9)


def test_every_integer_is_reachable_and_inside_bounds() -> None:
    s = LogSpace(min=2, max=512, is_integer=True)
    lo, hi = s.basic_bounds()
    for k in range(2, 513):
        b = float(s.to_basic(k))
        assert lo < b < hi
        assert float(s.from_basic(b)) == k
        # points within half a step round back to k
        assert float(s.from_basic(s.to_basic(k + 0.49))) == k
    lin = LinearSpace(min=0, max=64, scale=4, is_integer=True, rounding_factor=8)
    assert float(lin.from_basic(13 / 4)) == 16.0
    assert sorted({float(lin.from_basic(b)) for b in np.linspace(0, 16, 400)}) == [
        float(8 * i) for i in range(9)
    ]


def test_logit_ignores_integer_flag() -> None:
    assert float(LogitSpace(is_integer=True).from_basic(0.3)) == pytest.approx(
        1 / (1 + 10**-0.3)
    )


def test_space_json_round_trip() -> None:
    for s in (LogSpace(min=2, max=512, is_integer=True, scale=0.5), LinearSpace(), LogitSpace()):
        assert space_from_json(s.to_json()) == s


def test_bad_spaces_and_centres() -> None:
    with pytest.raises(SearchSpaceError, match="empty space"):
        LinearSpace(min=1.0, max=1.0)
    with pytest.raises(SearchSpaceError, match="scale"):
        LinearSpace(scale=0.0)
    with pytest.raises(SearchSpaceError, match="center"):
        Param("lr", LogSpace(min=1e-5, max=1e-1), 0.5)
    with pytest.raises(SearchSpaceError, match="center"):
        Param("p", LogitSpace(), 1.0)
    with pytest.raises(SearchSpaceError, match="center"):
        Param("x", LinearSpace(), math.nan)
    with pytest.raises(ValueError, match="LogSpace min"):
        LogSpace(min=-1.0)
