"""Fixtures of the reward tests: the gm_a56 junction, controlled SUMO scenarios with an
empty demand (vehicles inserted by hand, signals held), and a recorded busy run.
Every simulation is closed in a finally block."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from reward_scenarios import ALL_RED, MAIN_ROAD, SIDE_ROADS, SPEC_PATH, Scenario

from intergreen.frames import SensorFrame
from intergreen.junctions.catalog import load_spec
from intergreen.junctions.demand import DemandProfile, Period
from intergreen.junctions.env import reward_context
from intergreen.junctions.sensors import SensorArray
from intergreen.junctions.simulation import Simulation
from intergreen.junctions.spec import JunctionSpec
from intergreen.rewards import RewardContext


@pytest.fixture(scope="session")
def spec() -> JunctionSpec:
    return load_spec(SPEC_PATH)


@pytest.fixture
def scenario(spec: JunctionSpec) -> Iterator[Scenario]:
    empty = DemandProfile(name="empty", periods=[Period(begin=0, end=3600, flows={})])
    sim = Simulation(spec, empty, seed=1)
    sim.start()
    try:
        yield Scenario(spec, sim)
    finally:
        sim.close()


@pytest.fixture(scope="session")
def busy_run(spec: JunctionSpec) -> tuple[RewardContext, list[list[SensorFrame]]]:
    """600 steps (6 min) of the 'high' demand under a 30 s / 30 s main-road / side-road
    cycle with 3 s of all-red, cut into decisions of 5 frames (3 s)."""
    sim = Simulation(spec, "high", seed=7, duration=400)
    sim.start()
    try:
        sensors = SensorArray(sim.network, tuple(spec.approach_lane_ids), spec.sensors.noise, 0)
        sensors.reset(sim.conn)
        frames = []
        for k in range(600):
            t = (k * sim.step_length) % 66
            sim.set_signal_state(
                MAIN_ROAD if t < 30 else ALL_RED if t < 33 else SIDE_ROADS if t < 63 else ALL_RED
            )
            sim.step()
            frames.append(sensors.read(sim.conn, sim.time, sim.step_length))
        context = reward_context(spec, sim.network.speed_limits)
    finally:
        sim.close()
    return context, [frames[i : i + 5] for i in range(0, len(frames), 5)]


@pytest.fixture(autouse=True)
def no_simulation_left_open() -> Iterator[None]:
    """Every test closes the simulations it starts."""
    from intergreen.junctions import simulation

    yield
    assert not list(simulation._OPEN), "a test left a SUMO simulation open"
