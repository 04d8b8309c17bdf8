"""Reference controllers behind the one Policy interface that trained agents share.

A policy is asked at each decision point of a :class:`JunctionEnv` for an
action (an index into ``env.action_stages``); it may read the observation and
the env's sensor frames and controller state, never the simulator's ground
truth (the fixed-time plan is designed from the demand, as an engineer would).

- ``fixed-time``: Webster's optimum cycle and green splits from the demand.
- ``vehicle-actuated``: UK "System D" style: extend the green while the stage's
  detectors see vehicles, gap out after 1.5 s without one, stop at the maximum
  green, then go to the next stage with demand.
- ``max-occupancy``: the stage whose camera zones are most occupied
  (longest queue first), with a margin before it takes the green from the running stage.
- ``random``: a uniformly random legal action, seeded.
"""

from __future__ import annotations

from difflib import get_close_matches
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from intergreen.junctions.spec import JunctionSpec

if TYPE_CHECKING:
    from intergreen.junctions.env import JunctionEnv

SATURATION_FLOW = 1800.0  # veh/h per lane, a textbook value


@runtime_checkable
class Policy(Protocol):
    """Chooses an action stage at each decision point."""

    name: str

    def reset(self, env: JunctionEnv) -> None: ...

    def act(self, observation: np.ndarray, env: JunctionEnv) -> int: ...


def stage_crossings(spec: JunctionSpec, stage: str, crossing_arms: tuple[str, ...]) -> np.ndarray:
    """Bool per signalled crossing (in ``crossing_arms`` order): whether the stage runs it."""
    runs = {
        m.split(".")[0]
        for g in spec.stages[stage].groups
        for m in spec.signal_groups[g].movements
        if m.endswith(".crossing")
    }
    return np.array([a in runs for a in crossing_arms], dtype=bool)


class _StagePolicy:
    """Shared bookkeeping: the action stages, the lanes each serves, the current index."""

    name = "base"

    def reset(self, env: JunctionEnv) -> None:
        self.stages = list(env.action_stages)
        self.lanes = [env.spec_.stage_lanes(s) for s in self.stages]
        self.crossings = [stage_crossings(env.spec_, s, env.crossing_arms) for s in self.stages]

    def _waiting(self, frame, j: int) -> float:
        """Demand for stage j: vehicles in its zones plus pedestrians at its crossings."""
        peds = frame.ped_waiting[self.crossings[j]].sum() if frame.ped_waiting.size else 0.0
        return float(frame.count[self.lanes[j]].sum() + peds)

    def _current(self, env: JunctionEnv) -> int:
        stage = env.controller.current_stage
        return self.stages.index(stage) if stage in self.stages else 0

    def _next(self, i: int) -> int:
        return (i + 1) % len(self.stages)


class FixedTime(_StagePolicy):
    """A fixed plan: each action stage in turn for its green time (s).

    With no ``greens``, Webster's method sets them from the demand: flow ratio
    y of each stage = the heaviest lane flow it serves / saturation flow; cycle
    C = (1.5 L + 5) / (1 - Y), clamped to [cycle_min, cycle_max]; greens share
    C - L in proportion to y, each at least the stage's minimum green.
    """

    name = "fixed-time"

    def __init__(
        self,
        greens: dict[str, float] | None = None,
        saturation_flow: float = SATURATION_FLOW,
        cycle_min: float = 30.0,
        cycle_max: float = 120.0,
    ) -> None:
        self.given = {str(k): float(v) for k, v in (greens or {}).items()}
        self.saturation_flow = saturation_flow
        self.cycle_min, self.cycle_max = cycle_min, cycle_max
        self.greens: dict[str, float] = {}
        self.cycle = 0.0

    def reset(self, env: JunctionEnv) -> None:
        super().reset(env)
        for s in self.given:
            if s not in self.stages:
                raise ValueError(f"fixed-time greens: {s!r} is not an action stage {self.stages}")
        self.greens = dict(self.given) if self.given else self.webster(env)

    def webster(self, env: JunctionEnv) -> dict[str, float]:
        spec, demand = env.spec_, env.demand
        flows = demand.periods[0].flows if demand else {}
        lane_flow = []
        for arm_id, arm in spec.arms.items():
            arm_total = sum(v for m, v in flows.items() if m.split(".")[0] == arm_id)
            lane_flow += [arm_total / len(arm.approach_lanes)] * len(arm.approach_lanes)
        lane_flow_arr = np.array(lane_flow)
        y = np.array(
            [lane_flow_arr[mask].max(initial=0.0) / self.saturation_flow for mask in self.lanes]
        )
        lost = sum(spec.timing.default_intergreen or 5.0 for _ in self.stages) + 2.0 * len(
            self.stages
        )
        big_y = min(float(y.sum()), 0.95)
        cycle = float(np.clip((1.5 * lost + 5) / (1 - big_y), self.cycle_min, self.cycle_max))
        self.cycle = cycle
        share = y / y.sum() if y.sum() > 0 else np.full(len(y), 1 / len(y))
        return {
            s: max((cycle - lost) * float(w), max(spec.min_green(g) for g in spec.stages[s].groups))
            for s, w in zip(self.stages, share, strict=True)
        }

    def act(self, observation: np.ndarray, env: JunctionEnv) -> int:
        i = self._current(env)
        if env.controller.time_in_stage + 1e-9 >= self.greens[self.stages[i]]:
            return self._next(i)
        return i


class VehicleActuated(_StagePolicy):
    """UK System D style vehicle actuation on the camera zones.

    The green is extended while any lane of the running stage sees a vehicle; it
    gaps out once they have been empty for ``gap`` seconds, and ends at
    ``max_green`` (s, per stage, or one value for all); then the next stage in
    turn that has a vehicle (or a pedestrian at its crossing) waiting gets the green.
    """

    name = "vehicle-actuated"

    def __init__(self, gap: float = 1.5, max_green: float | dict[str, float] = 40.0) -> None:
        if gap <= 0:
            raise ValueError(f"gap must be > 0 s, got {gap}")
        self.gap = gap
        self.max_green = max_green

    def reset(self, env: JunctionEnv) -> None:
        super().reset(env)
        mg = self.max_green
        self._max = {s: float(mg[s]) if isinstance(mg, dict) else float(mg) for s in self.stages}
        self._last_seen = 0.0

    def act(self, observation: np.ndarray, env: JunctionEnv) -> int:
        i = self._current(env)
        frame = env.history[-1]
        # the time a vehicle was last seen on the running stage's lanes
        for f in reversed(env.frames):
            if f.count[self.lanes[i]].sum() > 0:
                self._last_seen = f.time
                break
        gapped = frame.time - self._last_seen >= self.gap - 1e-9
        maxed = env.controller.time_in_stage + 1e-9 >= self._max[self.stages[i]]
        if not (gapped or maxed):
            return i
        for k in range(1, len(self.stages)):
            j = (i + k) % len(self.stages)
            if self._waiting(frame, j) > 0:
                return j
        return i


class MaxOccupancy(_StagePolicy):
    """Longest queue first, measured as the study did by detector occupancy: the
    stage whose lanes' camera zones are most occupied.

    The running stage keeps the green unless another stage's zones are more occupied
    by more than ``margin`` (in lanes' worth of occupancy). Without it a queue
    discharging at saturation flow (spread out, so less occupied) loses the green to
    a standing queue at every minimum green, and at high demand the junction spends
    most of its time in interstages (worse than a poor fixed plan).
    """

    name = "max-occupancy"

    def __init__(self, margin: float = 0.5) -> None:
        if margin < 0:
            raise ValueError(f"margin must be >= 0, got {margin}")
        self.margin = margin

    def act(self, observation: np.ndarray, env: JunctionEnv) -> int:
        occ = env.history[-1].occupancy
        scores = [float(occ[mask].sum()) for mask in self.lanes]
        i = self._current(env)
        best = int(np.argmax(scores))
        return best if scores[best] > scores[i] + self.margin else i


class RandomPolicy(_StagePolicy):
    """A uniformly random legal action (seeded).

    Reseeded at every :meth:`reset` from its own ``seed`` and the episode's SUMO seed (drawn
    from the env's seeded stream), so an episode's actions do not depend on which episodes
    the policy played before it.
    """

    name = "random"

    def __init__(self, seed: int = 0) -> None:
        self.seed = int(seed)
        self.rng = np.random.default_rng(self.seed)

    def reset(self, env: JunctionEnv) -> None:
        super().reset(env)
        episode = [] if env.sim is None else [int(env.sim.seed)]
        self.rng = np.random.default_rng([self.seed, *episode])

    def act(self, observation: np.ndarray, env: JunctionEnv) -> int:
        legal = np.flatnonzero(env.action_masks())
        return int(self.rng.choice(legal))


BASELINES: dict[str, type] = {
    "fixed-time": FixedTime,
    "vehicle-actuated": VehicleActuated,
    "max-occupancy": MaxOccupancy,
    "random": RandomPolicy,
}


def make_baseline(name: str, **params: Any) -> Policy:
    """A baseline by name, e.g. ``make_baseline("vehicle-actuated", max_green=40)``."""
    key = name.replace("_", "-").lower()
    if key not in BASELINES:
        close = get_close_matches(key, list(BASELINES), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"unknown controller {name!r}{hint}; baselines: {', '.join(BASELINES)}")
    try:
        return BASELINES[key](**params)
    except TypeError as e:
        raise ValueError(f"controller {key}: {e}") from None
