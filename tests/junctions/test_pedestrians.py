"""Pedestrian demand: signalled crossings, push buttons, stage 3 and pedestrian metrics."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from intergreen.junctions.baselines import make_baseline
from intergreen.junctions.catalog import resolve_junction
from intergreen.junctions.demand import resolve_demand
from intergreen.junctions.env import make_env
from intergreen.junctions.network import build_network
from intergreen.junctions.rollout import run_episode
from intergreen.junctions.spec import SpecError


@pytest.fixture(scope="module")
def gm():
    return resolve_junction("gm_a56")


def test_crossings_only_in_the_pedestrian_network(gm) -> None:
    plain, peds = build_network(gm), build_network(gm, pedestrians=True)
    assert plain.net_file != peds.net_file
    assert not plain.crossings and set(peds.crossings.values()) == {"N", "E", "S", "W"}
    crossing_groups = {
        link.movement: link.group for link in peds.links if ".crossing" in link.movement
    }
    assert crossing_groups == {"N.crossing": "F", "E.crossing": "G", "S.crossing": "H",
                               "W.crossing": "I"}  # fmt: skip
    # vehicles keep the same movements, now one lane further out (the sidewalk is lane 0)
    vehicle = [link.movement for link in peds.links if ".crossing" not in link.movement]
    assert sorted(vehicle) == sorted(link.movement for link in plain.links)
    assert peds.approach_lanes[0] == "N_in_1" and plain.approach_lanes[0] == "N_in_0"


def test_peds_suffix_adds_the_stated_flows(gm) -> None:
    profile = resolve_demand(gm, "medium+peds")
    assert profile.has_pedestrians and profile.name == "medium+peds"
    assert profile.periods[0].pedestrians == {"N": 60, "E": 40, "S": 60, "W": 40}
    assert not resolve_demand(gm, "medium").has_pedestrians


def test_pedestrians_cross_and_press_the_button(gm) -> None:
    env = make_env(gm, "medium+peds", action_stages=["2", "3", "4"], seed=2, duration=600)
    try:
        check_env(env, skip_render_check=True)
        n_stack, lanes, stages = env.n_stack, len(env.lanes), len(gm.stages)
        assert env.observation_space.shape == (n_stack * (lanes + 4 + stages + 1) + 1,)
        pressed = 0
        env.reset(seed=2)
        done = False
        while not done:  # stay in stage 2: pedestrians pile up at the crossings
            _, _, _, done, info = env.step(0)
            pressed = max(pressed, int(env.history[-1].ped_waiting.sum()))
        assert pressed >= 2
        assert info["episode_metrics"]["pedestrians"] > 0
    finally:
        env.close()


def test_vehicle_actuated_serves_the_pedestrian_stage(gm) -> None:
    def run(stages):
        env = make_env(gm, "medium+peds", action_stages=stages, duration=900)
        return run_episode(env, make_baseline("vehicle-actuated"), seed=3).metrics

    served = run(["2", "3", "4"])
    never = run(["2", "4"])
    assert served["pedestrians"] > 5
    # without stage 3 among the actions the crossings never get a green man
    assert served["ped_avg_waiting_time"] < 0.5 * never["ped_avg_waiting_time"]
    assert np.isfinite(served["avg_waiting_time"])


def test_pedestrians_need_crossings(gm) -> None:
    data = gm.model_dump()
    data["signal_groups"] = {g: v for g, v in data["signal_groups"].items() if g not in "FGHI"}
    data["stages"] = {s: v for s, v in data["stages"].items() if s != "3"}
    data["transitions"] = {"1": ["2"], "2": ["4"], "4": ["1"]}
    data["intergreens"] = {}
    from intergreen.junctions.spec import parse_spec

    no_crossings = parse_spec(data)
    with pytest.raises(SpecError, match="no signalled crossing"):
        resolve_demand(no_crossings, "medium+peds")
