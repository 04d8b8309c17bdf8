"""A route file's <flow> counted over a time window, in each of SUMO's ways to give its rate
(the flows that the import's demand check and a run's plausibility check add up)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from intergreen.junctions.route_files import _window_count
from intergreen.junctions.sumo_net import NetworkImportError

ROUTES = Path("my.rou.xml")


def _flow(**attrs: str) -> ET.Element:
    return ET.Element("flow", {"id": "f", **attrs})


@pytest.mark.parametrize(
    ("attrs", "expected"),
    [
        ({"begin": "0", "end": "3600", "number": "100"}, 50.0),  # half the flow's span
        ({"begin": "0", "end": "3600", "vehsPerHour": "360"}, 180.0),
        ({"begin": "0", "end": "3600", "period": "4"}, 450.0),  # a vehicle every 4 s
        ({"begin": "0", "end": "3600", "period": "exp(0.1)"}, 180.0),  # 0.1 veh/s, Poisson
        ({"begin": "0", "end": "3600", "probability": "0.05"}, 90.0),
        ({"begin": "2000", "end": "3600", "vehsPerHour": "360"}, 0.0),  # after the window
        ({"begin": "1000", "vehsPerHour": "3600"}, 800.0),  # no end: runs to the window's
    ],
)
def test_a_flow_counts_its_vehicles_inside_the_window(attrs, expected):
    assert _window_count(ROUTES, _flow(**attrs), 0.0, 1800.0) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("attrs", "bad"),
    [
        ({"begin": "x", "vehsPerHour": "10"}, ("begin", "x")),
        ({"vehsPerHour": "abc"}, ("vehsPerHour", "abc")),
        ({"period": "exp(fast)"}, ("period", "exp(fast)")),
        ({"probability": "often"}, ("probability", "often")),
    ],
)
def test_the_attribute_that_is_not_a_number_is_named(attrs, bad):
    with pytest.raises(NetworkImportError) as err:
        _window_count(ROUTES, _flow(**attrs), 0.0, 1800.0)
    assert str(err.value) == (
        f"my.rou.xml: flow 'f': {bad[0]}={bad[1]!r} is not a number; give a number (veh/h for "
        "vehsPerHour, s for begin, end and period)"
    )
