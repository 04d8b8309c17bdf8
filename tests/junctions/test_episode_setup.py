"""What an episode says about its own set-up: a duration past its demand warns, and a reward
given with settings labels its column (traffic engineer's and researcher's trials)."""

from __future__ import annotations

import warnings

import pytest
from procs import sumo_children

from intergreen.junctions.env import make_env


def test_a_duration_past_the_demand_warns_once() -> None:
    """An hour of `low`, whose periods end at 1800 s, reported 859 veh/h as if the demand had
    run for the hour, without a word."""
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
    mixed = make_env("gm_a56", "mixed", seed=1, duration=1806)  # a total per episode
    try:
        with pytest.warns(UserWarning) as caught:
            for seed in range(4):
                mixed.reset(seed=seed)
        assert len(caught) == 1  # one line for the demands of one length, not one per total
    finally:
        mixed.close()
    short = make_env("gm_a56", "low", seed=1, duration=1800)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            short.reset()
    finally:
        short.close()
    assert sumo_children() == []


def test_a_rewards_settings_label_its_column() -> None:
    """A new user's trial: long_queues with threshold 3 and with 8 were summed into one
    reward_long_queues column; a batch labels them long_queues[HASH], and now so do episodes."""
    from intergreen.experiments.grid import label
    from intergreen.junctions.baselines import make_baseline
    from intergreen.junctions.rollout import run_episode

    columns = []
    for reward in ({"name": "diff_waiting_time", "scale": 10}, "diff_waiting_time",
                   {"name": "diff_waiting_time", "scale": 100.0}):  # fmt: skip
        env = make_env("gm_a56", "low", reward, seed=1, duration=12)
        try:
            columns.append(run_episode(env, make_baseline("fixed-time"), seed=1).reward_column)
        finally:
            env.close()
    tagged = label({"name": "diff_waiting_time", "scale": 10})
    assert tagged.startswith("diff_waiting_time[") and len(tagged) == len("diff_waiting_time") + 8
    # as a batch labels each: a parameter written out is in the label, 100.0 read as 100
    written = label({"name": "diff_waiting_time", "scale": 100})
    assert columns == [f"reward_{tagged}", "reward_diff_waiting_time", f"reward_{written}"]
    assert tagged != written
    assert sumo_children() == []
