"""Baselines that need a road network around the junction (the Policy interface of
:mod:`intergreen.junctions.baselines`, registered in its BASELINES):

- ``program``: SUMO runs the network's own signal program (RESCO's "fixed time"); the env is
  made with ``signals="program"`` (the policy's ``env_kwargs``), its actions are ignored.
- ``max-pressure``: Varaiya's max pressure with RESCO's queue: the action stage whose green
  approach lanes hold the most queued vehicles minus those halted on the exit lanes its
  movements feed (camera zones at both ends of the junction). A queued vehicle is one in the
  approach camera zone that has stopped since it came into view, until it crosses the stop
  line (RESCO's ``queue``; estimated from the zone's counts, halted, arrived and passed
  vehicles as the ``wait_time`` reward does, :class:`intergreen.rewards.library.ZoneVehicles`).
  Neither a halted count nor every vehicle in the zone works: a halted count drops to zero
  as soon as the queue it counts starts to move, so max pressure left every green at the
  next decision (on RESCO's cologne1 that locked vehicles inside the junction in 3 of 10
  episodes), and counting every vehicle lets the free-flowing traffic of a busy approach
  outweigh a side road's queue for ever (ingolstadt1's west left turn). RESCO's version, on a
  single junction, has no exits to subtract (it counts only exits into another signal).
- ``greedy``: RESCO's greedy ("max wave"): the action stage with the most vehicles, queued
  or approaching, on its green approach lanes within 50 m of the stop line (RESCO's
  ``max_distance`` for it; read from SUMO per vehicle, since a camera zone reaches further:
  counting the 200 m zones let ingolstadt1's main road starve its west left turn).

Both choose at every decision and keep the running stage on a tie; they run under our
controller's rules (minimum greens, intergreens, permitted transitions).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from intergreen.junctions.imported import ImportedJunctionSpec
from intergreen.junctions.network import Network
from intergreen.junctions.spec import JunctionSpec
from intergreen.junctions.sumo import libsumo_getter
from intergreen.rewards.library import ZoneVehicles

if TYPE_CHECKING:
    from intergreen.junctions.env import JunctionEnv

__all__ = ["Greedy", "MaxPressure", "ProgramBaseline", "stage_exit_lanes"]


def stage_exit_lanes(spec: JunctionSpec, network: Network, stage: str) -> np.ndarray:
    """Bool per ``network.exit_lanes``: whether a movement green in ``stage`` feeds it (an
    imported junction: its links' exit lanes; a generated one: its destination arms')."""
    groups = spec.stages[stage].groups
    if isinstance(spec, ImportedJunctionSpec):
        facts = spec.facts
        fed = {
            lane
            for g in groups
            for k in spec.signal_groups[g].links
            if not facts.link(k).crossing
            for lane in facts.link(k).to_lanes
        }
        return np.array([lane in fed for lane in network.exit_lanes], dtype=bool)
    arms = {
        spec.destinations[m]
        for g in groups
        for m in spec.signal_groups[g].movements
        if not m.endswith(".crossing")
    }
    edges = {network.exit_edges[list(spec.arms).index(a)] for a in arms}
    return np.array([lane.rsplit("_", 1)[0] in edges for lane in network.exit_lanes], dtype=bool)


class _ChooseByScore:
    """The action stage with the highest score at each decision; ties keep the running one."""

    name = "base"

    def reset(self, env: JunctionEnv) -> None:
        self.stages = list(env.action_stages)
        self.lanes = [env.spec_.stage_lanes(s) for s in self.stages]

    def scores(self, env: JunctionEnv) -> np.ndarray:
        raise NotImplementedError

    def act(self, observation: np.ndarray, env: JunctionEnv) -> int:
        scores = self.scores(env)
        stage = env.controller.current_stage
        i = self.stages.index(stage) if stage in self.stages else 0
        best = int(np.argmax(scores))
        return best if scores[best] > scores[i] else i


class MaxPressure(_ChooseByScore):
    """Max pressure on RESCO's queues at the approach lanes and halted vehicles at the exit
    lanes (module docstring)."""

    name = "max-pressure"

    def reset(self, env: JunctionEnv) -> None:
        super().reset(env)
        self.exits = [stage_exit_lanes(env.spec_, env.network, s) for s in self.stages]
        self._halting = libsumo_getter(env.sim.conn, "lanearea", "getLastStepHaltingNumber")
        self._exit_ids = env.network.exit_camera_ids
        self._zones = ZoneVehicles(len(env.network.approach_lanes))
        self._seen = -np.inf

    def queues(self, env: JunctionEnv) -> np.ndarray:
        """Per approach lane: vehicles in the camera zone that have stopped since they came
        into view (the frames since the last call; ``env.history`` keeps the last 200)."""
        for frame in env.history:
            if frame.time > self._seen:
                self._zones.update(frame)
                self._zones.add_stopped(frame, 0)
                self._seen = frame.time
        return np.array([np.count_nonzero(q[:, 0]) for q in self._zones.lanes], dtype=float)

    def exit_queues(self) -> np.ndarray:
        """Halted vehicles in each exit lane's camera zone (``network.exit_camera_ids``)."""
        return np.array([self._halting(d) for d in self._exit_ids], dtype=float)

    def scores(self, env: JunctionEnv) -> np.ndarray:
        """Per action stage: queued vehicles on its green approach lanes minus halted ones on
        the exit lanes it feeds."""
        queued = self.queues(env)
        out = self.exit_queues()
        return np.array(
            [queued[m].sum() - out[e].sum() for m, e in zip(self.lanes, self.exits, strict=True)]
        )


class Greedy(_ChooseByScore):
    """RESCO's greedy: most vehicles within ``reach`` m of the stop line on the stage's green
    approach lanes."""

    name = "greedy"
    reach = 50.0  # m, RESCO's max_distance for MAXWAVE (its agent_config.py)

    def reset(self, env: JunctionEnv) -> None:
        super().reset(env)
        conn = env.sim.conn
        self._lanes = env.network.approach_lanes
        self._length = [conn.lane.getLength(lane) for lane in self._lanes]
        self._ids = libsumo_getter(conn, "lane", "getLastStepVehicleIDs")
        self._position = libsumo_getter(conn, "vehicle", "getLanePosition")

    def near(self) -> np.ndarray:
        """Per approach lane (``network.approach_lanes``): vehicles within ``reach`` m of its
        stop line."""
        return np.array(
            [
                sum(length - self._position(v) <= self.reach for v in self._ids(lane))
                for lane, length in zip(self._lanes, self._length, strict=True)
            ],
            dtype=float,
        )

    def scores(self, env: JunctionEnv) -> np.ndarray:
        near = self.near()
        return np.array([near[m].sum() for m in self.lanes])


class ProgramBaseline:
    """SUMO runs the network's own signal program; the policy only watches."""

    name = "program"
    env_kwargs: dict[str, Any] = {"signals": "program"}

    def reset(self, env: JunctionEnv) -> None:
        if env.signals != "program":
            raise ValueError(
                "the program baseline needs an env made with signals='program' (SUMO runs the "
                "network's program); make_env(..., signals='program')"
            )
        self.stages = list(env.action_stages)

    def act(self, observation: np.ndarray, env: JunctionEnv) -> int:
        stage = env.controller.current_stage
        return self.stages.index(stage) if stage in self.stages else 0
