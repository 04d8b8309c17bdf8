"""An episode longer than its demand says so (a traffic engineer's trial: an hour of `low`,
whose periods end at 1800 s, reported 859 veh/h as if the demand had run for the hour)."""

from __future__ import annotations

import warnings

import pytest
from procs import sumo_children

from intergreen.junctions.env import make_env


def test_a_duration_past_the_demand_warns_once() -> None:
    env = make_env("gm_a56", "low", seed=1, duration=1806)
    try:
        with pytest.warns(UserWarning) as caught:
            env.reset()
        assert [str(w.message) for w in caught] == [
            "duration 1806 s runs past the end of demand low (1800 s): no vehicle departs in the "
            "last 6 s, so the means and the throughput cover a partly empty run; give a "
            "duration of at most 1800 s or a longer demand"
        ]
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # once per demand, not every episode
            env.reset()
    finally:
        env.close()
    short = make_env("gm_a56", "low", seed=1, duration=1800)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            short.reset()
    finally:
        short.close()
    assert sumo_children() == []
