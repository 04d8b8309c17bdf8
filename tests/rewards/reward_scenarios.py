"""Controlled gm_a56 scenarios for the reward tests (imported by conftest and tests)."""

from __future__ import annotations

from pathlib import Path

import intergreen
from intergreen.frames import SensorFrame
from intergreen.junctions.env import reward_context
from intergreen.junctions.sensors import SensorArray
from intergreen.junctions.simulation import Simulation
from intergreen.junctions.spec import JunctionSpec

SPEC_PATH = Path(intergreen.__file__).parent / "junctions/library/gm_a56/junction.yaml"
ALL_RED = "r" * 14
ALL_GREEN = "G" * 14
# signal link order of the built gm_a56 network: S (0-3), E (4-6), N (7-10), W (11-13)
MAIN_ROAD = "GGGg" + "rrr" + "GGGg" + "rrr"
SIDE_ROADS = "rrrr" + "GGG" + "rrrr" + "GGG"
LIMIT = 13.41  # m/s, every arm


class Scenario:
    """A running gm_a56 simulation with no traffic but what a test inserts.

    ``add`` puts a vehicle on an approach lane ``dist`` metres before the stop line at
    a fixed speed (0 holds it stopped), with lane changes off; ``run(n)`` steps and
    returns the n SensorFrames.
    """

    def __init__(self, spec: JunctionSpec, sim: Simulation) -> None:
        self.spec, self.sim, self.conn = spec, sim, sim.conn
        self.lane_length = dict(zip(spec.approach_lane_ids, sim.network.lane_lengths, strict=True))
        self.sensors = SensorArray(
            sim.network, tuple(spec.approach_lane_ids), spec.sensors.noise, 0
        )
        self.sensors.reset(sim.conn)
        ahead = {"S": "N", "N": "S", "E": "W", "W": "E"}
        for arm, dest in ahead.items():
            self.conn.route.add(f"r_{arm}", [f"{arm}_in", f"{dest}_out"])
        self.context = reward_context(spec, sim.network.speed_limits)

    def signals(self, state: str) -> None:
        self.sim.set_signal_state(state)

    def add(self, vid: str, lane: str, dist: float, speed: float) -> None:
        arm, idx = lane.rsplit("_", 1)
        pos = self.lane_length[lane] - dist
        self.conn.vehicle.add(
            vid, f"r_{arm}", departLane=idx, departPos=f"{pos:.2f}", departSpeed=f"{speed}"
        )
        self.conn.vehicle.setLaneChangeMode(vid, 0)
        self.conn.vehicle.setSpeed(vid, speed)

    def run(self, n: int) -> list[SensorFrame]:
        frames = []
        for _ in range(n):
            self.sim.step()
            frames.append(self.sensors.read(self.conn, self.sim.time, self.sim.step_length))
        return frames
