"""Baselines that need a road network around the junction (the Policy interface of
:mod:`intergreen.junctions.baselines`, registered in its BASELINES):

- ``program``: SUMO runs the network's own signal program (RESCO's "fixed time"); the env is
  made with ``signals="program"`` (the policy's ``env_kwargs``), its actions are ignored.
- ``max-pressure``: Varaiya's max pressure: the action stage whose green approach lanes hold
  the most vehicles minus those on the exit lanes its movements feed (camera zones at both
  ends of the junction); RESCO's version, on a single junction, has no exits to subtract (it
  counts only exits into another signal). The count is every vehicle in the zone (Varaiya's
  queue: the vehicles on the link), not only the halted ones: a queue that starts to move
  stops being halted within seconds, so a halted count drops to zero during the green it
  earned and max pressure switches away every decision; on RESCO's cologne1 (3 s amber, no
  all-red) that switching locked vehicles inside the junction in 3 of 10 hour-long episodes.
- ``greedy``: RESCO's greedy ("max wave"): the action stage with the most vehicles, queued
  or approaching, in the camera zones of its green approach lanes.

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
            if not facts.links[k].crossing
            for lane in facts.links[k].to_lanes
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
    """Max pressure on camera zones at the approach and exit lanes (module docstring)."""

    name = "max-pressure"

    def reset(self, env: JunctionEnv) -> None:
        super().reset(env)
        self.exits = [stage_exit_lanes(env.spec_, env.network, s) for s in self.stages]
        conn = env.sim.conn
        self._count = libsumo_getter(conn, "lanearea", "getLastStepVehicleNumber")
        self._exit_ids = env.network.exit_camera_ids

    def exit_queues(self) -> np.ndarray:
        """Vehicles in each exit lane's camera zone (``network.exit_camera_ids`` order)."""
        return np.array([self._count(d) for d in self._exit_ids], dtype=float)

    def scores(self, env: JunctionEnv) -> np.ndarray:
        """Per action stage: vehicles in its green approach lanes' zones minus vehicles in
        the zones of the exit lanes it feeds."""
        queued = env.history[-1].count
        out = self.exit_queues()
        return np.array(
            [queued[m].sum() - out[e].sum() for m, e in zip(self.lanes, self.exits, strict=True)]
        )


class Greedy(_ChooseByScore):
    """RESCO's greedy: most vehicles queued or approaching on the stage's lanes."""

    name = "greedy"

    def scores(self, env: JunctionEnv) -> np.ndarray:
        count = env.history[-1].count
        return np.array([count[m].sum() for m in self.lanes])


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
