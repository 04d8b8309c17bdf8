"""Vehicle actuation as UK "System D": induction loops, an extension per vehicle, gap-out,
maximum green. The ``vehicle-actuated`` baseline.

Detection: every approach lane has three induction loops (SUMO E1 detectors, built with the
network, :data:`intergreen.junctions.network.SYSTEM_D_SETBACKS`) at 39 m, 25 m and 12 m
before the stop line (X, Y and Z), the UK layout for isolated vehicle actuation on roads limited
to 30-40 mph; a lane shorter than a set-back has the loops that fit, and one shorter than 12 m
one loop near its start (:func:`intergreen.junctions.network.system_d_setbacks`). They are the
controller's own detectors, not sensors the agents see.

Rules, applied under the :class:`~intergreen.junctions.controller.StageController` (which keeps
minimum greens, intergreens and the permitted stage sequence):

- Demand: a vehicle detected by any loop of a lane calls every action stage that serves the
  lane; the call is kept (latched) until that stage next has the green, so a queue standing
  over the Z loop keeps calling. A pedestrian at a crossing's push button calls the stage
  that runs the crossing.
- Extension: while the green runs, each vehicle a loop of the running stage's lanes detects
  extends it by ``extension`` seconds, counted from the moment the vehicle leaves the loop
  (SUMO's time since detection, zero while a vehicle is over the loop; a UK detector's output
  is held while the loop is occupied). With 13-14 m between the loops a vehicle at 30 mph
  (13.4 m/s) takes about 1 s from one loop to the next and 0.9 s from Z to the stop line, so
  the default 1.5 s carries a vehicle from X to beyond the stop line.
- Gap-out: once no extension runs, the stage ends if another action stage is called.
- Maximum green: ``max_green`` seconds after the start of its green (per stage, or one value
  for all) the stage ends if another action stage is called, whatever the extensions. (A UK
  controller starts the maximum-green timer at the first opposing call; whenever a call is
  already waiting at the start of green, as it is under load, the two are the same.) A stage
  cut off by its maximum while an extension still ran calls itself again (revertive demand),
  so the vehicles it was extending for are not left without a call.
- Next stage: the next action stage in the cyclic order that is called; without any call the
  green rests on the running stage.

Sources (as found in the project's reference store; the 39/25/12 m set-backs themselves were
not found there in a primary text and are taken from UK practice as the design brief states,
DfT/Highways Agency MCE 0108 "Siting of inductive loops for vehicle detecting equipments at
permanent road traffic signal installations"):

- Siemens, *ST900 Family General Handbook*, 667/HB/32900/000 issue 11, §9 p. 115: the
  "XYZ Standard 'D' Detector" loops per lane, with speed-discrimination (SDE) assessors
  added 79 m upstream only where approach speeds exceed 35 mph.
- Siemens, *Loop Detector Handbook*, 667/HE/20663/000 issue 13, §2.3.6-2.3.7: loops marked
  at the "loop approach distances X, Y, Z" of the site drawing; a "VA approach system D".
- DfT, *Traffic Advisory Leaflet 1/06, General Principles of Traffic Control by Light
  Signals* (2006), part 2: stages and phases, amber 3 s and red+amber 2 s, the controller
  specification TR 2500.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from intergreen.errors import OptionError
from intergreen.junctions.stage_policy import StagePolicy, per_stage, stage_greens

if TYPE_CHECKING:
    from intergreen.junctions.env import JunctionEnv

#: Default extension per vehicle (s), see the module docstring.
EXTENSION = 1.5
#: Default maximum green (s) of every action stage.
MAX_GREEN = 40.0


class VehicleActuated(StagePolicy):
    """UK System D vehicle actuation on the network's induction loops (module docstring).

    ``extension``: seconds of green each detected vehicle adds after leaving a loop (> 0);
    ``max_green``: seconds after the start of green at which a stage ends if another stage is
    called (one value, or ``{stage: seconds}`` for every action stage).
    """

    name = "vehicle-actuated"

    def __init__(
        self, extension: float = EXTENSION, max_green: float | dict[str, float] = MAX_GREEN
    ) -> None:
        if isinstance(extension, bool) or not isinstance(extension, int | float):
            raise OptionError(f"extension: expected seconds > 0, got {extension!r}")
        if not extension > 0:
            raise OptionError(f"extension must be > 0 s, got {extension}")
        if not isinstance(max_green, dict):
            per_stage(max_green, ["all"], "max_green")  # a bad number fails here, before reset
        self.extension = float(extension)
        self.max_green = max_green

    def reset(self, env: JunctionEnv) -> None:
        super().reset(env)
        self._max = stage_greens(self.max_green, env.spec_, self.stages, "max_green")
        loops = env.network.system_d_loop_ids
        # loops of each action stage's lanes, and one reader of SUMO's time since detection
        self._loops = [
            [loop for lane, ids in zip(mask, loops, strict=True) if lane for loop in ids]
            for mask in self.lanes
        ]
        self._since = env.sim.conn.inductionloop.getTimeSinceDetection
        # when each stage last had the green: a detection after it is a call (latched)
        self._served_at = np.zeros(len(self.stages))
        self._revertive = np.zeros(len(self.stages), dtype=bool)

    def _called(self, env: JunctionEnv, j: int, now: float) -> bool:
        """Whether stage j has a call: a vehicle detected on its loops since it last had the
        green, or a pedestrian at its push buttons."""
        frame = env.history[-1]
        if self._revertive[j]:
            return True
        if frame.ped_waiting.size and frame.ped_waiting[self.crossings[j]].any():
            return True
        waited = now - self._served_at[j]
        return any(self._since(loop) < waited for loop in self._loops[j])

    def _extending(self, i: int) -> bool:
        """Whether a vehicle's extension still runs on the running stage's loops."""
        return any(self._since(loop) < self.extension for loop in self._loops[i])

    def act(self, observation: np.ndarray, env: JunctionEnv) -> int:
        i = self._current(env)
        now = env.sim.time
        if env.controller.current_stage == self.stages[i]:
            self._served_at[i] = now
            self._revertive[i] = False
        maxed = env.controller.time_in_stage + 1e-9 >= self._max[self.stages[i]]
        extending = self._extending(i)
        if extending and not maxed:
            return i
        for k in range(1, len(self.stages)):
            j = (i + k) % len(self.stages)
            if self._called(env, j, now):
                self._revertive[i] = extending
                return j
        return i
