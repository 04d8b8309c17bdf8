"""Fixed-time control planned by Webster's method: the ``fixed-time`` baseline.

Webster (1958, *Traffic signal settings*, Road Research Technical Paper 39): with the lost
time L per cycle (s) and the sum Y of the stages' flow ratios, the optimum cycle is
C = (1.5 L + 5) / (1 - Y); the effective green C - L is shared in proportion to the flow
ratios y. Here

- y of an action stage = the largest lane flow ratio among the lanes it serves: lane flow
  (veh/h) / that lane's saturation flow. An arm's movements are spread over the lanes that
  serve them as drivers balance lanes: the lane flows are as equal as the lanes' movements
  allow (the lexicographically smallest loads, :func:`balanced_lane_flows`), so lanes that
  all serve every movement share the arm's flow equally (gm_a56), and a turn lane carries its
  turn's flow alone (imported networks with dedicated turn lanes).
  Exit-only arms (an imported network's arms without approach lanes) carry no flow; a stage
  whose lanes have no flow gets its minimum green (all stages share equally when none has).
  Saturation flows are measured on the junction in SUMO
  (``benchmarks/baselines/saturation_flow.py``) and read from the junction's
  ``saturation_flows.yaml``; without that file every lane has the textbook
  :data:`intergreen.junctions.plausibility.SATURATION_FLOW`.
- L = the sum of the intergreens over one cycle of the stage sequence, stages the controller
  must pass through included (gm_a56: 2 -> 4 -> 1 -> 2, so the arrow stage 1; with the
  pedestrian stage 2 -> 3 -> 4 -> 1 -> 2, whose intergreens after the pedestrian stage are
  8 s). The intergreen of a change S -> T is the largest ``spec.intergreen`` over the
  conflicting losing and gaining groups (at least red+amber).
- Stages the sequence passes through without being action stages (stage 1) run their minimum
  green; that time is added to the cycle and not shared out.
- One plan per period of the demand profile: a time-varying profile (``weekday``) gets a plan
  for each hour, switched at the period boundaries.

Tuning knobs (defaults leave Webster's plan unchanged): ``cycle_factor`` scales Webster's
cycle; ``split_weights`` ({stage: w}) weights each stage's flow ratio before the split.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from intergreen.errors import OptionError
from intergreen.junctions.catalog import read_yaml
from intergreen.junctions.demand import DemandProfile, Period, junction_folder
from intergreen.junctions.plausibility import SATURATION_FLOW
from intergreen.junctions.spec import JunctionSpec, SpecError
from intergreen.junctions.stage_policy import StagePolicy, per_stage, stage_greens, stage_min_green

if TYPE_CHECKING:
    from intergreen.junctions.env import JunctionEnv

#: Name of a junction's measured saturation flows, in its library folder.
SATURATION_FILE = "saturation_flows.yaml"
#: Largest Y planned for: at and above it Webster's cycle would be infinite.
MAX_Y = 0.95


# ----- saturation flows ------------------------------------------------------------------------
def saturation_file(spec: JunctionSpec) -> Path | None:
    """The junction's measured saturation flows file, if it has one."""
    folder = junction_folder(spec)
    path = folder / SATURATION_FILE if folder else None
    return path if path is not None and path.is_file() else None


def load_saturation_flows(spec: JunctionSpec, path: Path | None = None) -> dict[str, float]:
    """Saturation flow (veh/h) of every approach lane (``spec.approach_lane_ids``).

    From ``path`` or the junction's :data:`SATURATION_FILE`; :data:`SATURATION_FLOW` for every
    lane when there is none. Raises SpecError naming the file for a missing or unknown lane
    or a value outside 300-3000 veh/h."""
    path = path or saturation_file(spec)
    if path is None:
        return dict.fromkeys(spec.approach_lane_ids, SATURATION_FLOW)
    doc = read_yaml(path)
    lanes = doc.get("lanes") if isinstance(doc, dict) else None
    if not isinstance(lanes, dict):
        raise SpecError(f"{path}: expected a 'lanes' mapping of lane -> saturation flow")
    unknown = sorted(set(map(str, lanes)) - set(spec.approach_lane_ids))
    missing = [lane for lane in spec.approach_lane_ids if lane not in lanes]
    if unknown or missing:
        raise SpecError(
            f"{path}: lanes must be exactly {', '.join(spec.approach_lane_ids)} "
            f"(unknown: {unknown or 'none'}, missing: {missing or 'none'})"
        )
    flows = {}
    for lane, entry in lanes.items():
        value = entry.get("saturation_flow") if isinstance(entry, dict) else entry
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not (300 <= value <= 3000)
        ):
            raise SpecError(
                f"{path}: lanes.{lane}.saturation_flow must be a number of veh/h in "
                f"300-3000, got {value!r}"
            )
        flows[str(lane)] = float(value)
    return flows


# ----- Webster ---------------------------------------------------------------------------------
def interstage_time(spec: JunctionSpec, src: str, dst: str) -> float:
    """Intergreen (s) of the change ``src -> dst``: the largest intergreen from a losing to a
    conflicting gaining group, at least red+amber when a group gains."""
    s_groups, d_groups = set(spec.stages[src].groups), set(spec.stages[dst].groups)
    losing = [g for g in spec.stages[src].groups if g not in d_groups]
    gaining = [g for g in spec.stages[dst].groups if g not in s_groups]
    times = [spec.timing.red_amber] if gaining else [0.0]
    times += [spec.intergreen(lo, g) for lo in losing for g in gaining if spec.conflict(lo, g)]
    return max(times)


def cycle_sequence(spec: JunctionSpec, stages: list[str]) -> list[str]:
    """The stages of one cycle through the action ``stages`` in their order, with the stages
    the permitted transitions force on the way (gm_a56, [2, 4]: [2, 4, 1])."""
    seq: list[str] = []
    for a, b in zip(stages, stages[1:] + stages[:1], strict=True):
        seq += [a, *spec.stage_path(a, b)[:-1]] if a != b else [a]
    return seq


def lost_time(spec: JunctionSpec, stages: list[str]) -> float:
    """Sum of the intergreens (s) over one cycle of the stage sequence."""
    seq = cycle_sequence(spec, stages)
    return sum(interstage_time(spec, a, b) for a, b in zip(seq, seq[1:] + seq[:1], strict=True))


def forced_green(spec: JunctionSpec, stages: list[str]) -> float:
    """Green (s) per cycle of the stages passed through that are not action stages: each runs
    until the groups it loses at the next change have had their minimum greens (gm_a56: stage
    1 for the arrow's 4 s)."""
    seq = cycle_sequence(spec, stages)
    total = 0.0
    for s, nxt in zip(seq, seq[1:] + seq[:1], strict=True):
        if s not in stages:
            keep = set(spec.stages[nxt].groups)
            total += max(
                (spec.min_green(g) for g in spec.stages[s].groups if g not in keep), default=0.0
            )
    return total


@dataclass(frozen=True)
class SignalPlan:
    """One fixed-time plan: greens (s) per action stage, for demand time [begin, end) s."""

    begin: float
    end: float
    cycle: float
    lost_time: float
    forced_green: float  # minimum greens of the stages passed through (not shared out)
    flow_ratios: dict[str, float]
    greens: dict[str, float]

    def as_dict(self) -> dict[str, Any]:
        return {
            "begin": self.begin,
            "end": self.end,
            "cycle": round(self.cycle, 2),
            "lost_time": self.lost_time,
            "forced_green": self.forced_green,
            "flow_ratios": {k: round(v, 4) for k, v in self.flow_ratios.items()},
            "greens": {k: round(v, 2) for k, v in self.greens.items()},
        }


def balanced_lane_flows(flows: dict[str, float], lanes: list[set[str]]) -> list[float]:
    """veh/h per lane when the movements' ``flows`` (turn -> veh/h) spread over the ``lanes``
    that serve them (each lane: the set of turns it serves) as evenly as they can: the
    lexicographically smallest vector of lane loads (drivers balance lanes). Exact: the
    busiest group of lanes is the one whose movements that can use no other lane load it
    most per lane; those lanes get that load, and the rest is solved again without them
    (every subset is tried: an arm has a handful of lanes). A movement no lane serves is
    spread over all of them."""
    allowed = {m: {i for i, turns in enumerate(lanes) if m in turns} or set(range(len(lanes)))
               for m in flows}  # fmt: skip
    left = set(range(len(lanes)))
    out = [0.0] * len(lanes)
    pending = dict(flows)
    while left:
        best, best_load = left, -1.0
        for size in range(1, len(left) + 1):
            for group in map(set, itertools.combinations(sorted(left), size)):
                bound = [m for m in pending if allowed[m] & left <= group]
                load = sum(pending[m] for m in bound) / size
                if load >= best_load:  # ties: the larger group
                    best, best_load = group, load
        for i in best:
            out[i] = best_load
        pending = {m: v for m, v in pending.items() if not allowed[m] & left <= best}
        left -= best
    return out


def lane_flows(spec: JunctionSpec, period: Period) -> np.ndarray:
    """veh/h per approach lane (``spec.approach_lane_ids``): each arm's movement flows spread
    over the lanes that serve them (:func:`balanced_lane_flows`). An exit-only arm (no
    approach lanes) has no movements and no lanes."""
    out: list[float] = []
    for arm_id, arm in spec.arms.items():
        if not arm.approach_lanes:
            continue
        flows = {m.split(".", 1)[1]: v for m, v in period.flows.items()
                 if m.split(".")[0] == arm_id}  # fmt: skip
        out += balanced_lane_flows(flows, [set(lane.movements) for lane in arm.approach_lanes])
    return np.array(out)


def webster_plan(
    spec: JunctionSpec,
    stages: list[str],
    period: Period,
    saturation: dict[str, float],
    *,
    cycle_min: float = 30.0,
    cycle_max: float = 120.0,
    cycle_factor: float = 1.0,
    split_weights: dict[str, float] | None = None,
) -> SignalPlan:
    """Webster's plan for one demand period (module docstring)."""
    sat = np.array([saturation[lane] for lane in spec.approach_lane_ids])
    ratio = lane_flows(spec, period) / sat
    y = np.array([ratio[spec.stage_lanes(s)].max(initial=0.0) for s in stages])
    weights = np.array([(split_weights or {}).get(s, 1.0) for s in stages])
    lost = lost_time(spec, stages)
    forced = forced_green(spec, stages)
    big_y = min(float(y.sum()), MAX_Y)
    webster = (1.5 * lost + 5) / (1 - big_y)
    cycle = float(np.clip(webster * cycle_factor, cycle_min, cycle_max))
    wy = y * weights
    share = wy / wy.sum() if wy.sum() > 0 else np.full(len(y), 1 / len(y))
    usable = max(cycle - lost - forced, 0.0)
    greens = {
        s: max(usable * float(w), stage_min_green(spec, s))
        for s, w in zip(stages, share, strict=True)
    }
    return SignalPlan(
        begin=period.begin,
        end=period.end,
        cycle=lost + forced + sum(greens.values()),
        lost_time=lost,
        forced_green=forced,
        flow_ratios={s: float(v) for s, v in zip(stages, y, strict=True)},
        greens=greens,
    )


def webster_plans(
    spec: JunctionSpec,
    stages: list[str],
    demand: DemandProfile,
    saturation: dict[str, float],
    **kwargs: Any,
) -> list[SignalPlan]:
    """One Webster plan per period of ``demand``."""
    return [webster_plan(spec, stages, p, saturation, **kwargs) for p in demand.periods]


# ----- the policy ------------------------------------------------------------------------------
class FixedTime(StagePolicy):
    """A fixed plan: each action stage in turn for its green (s).

    ``greens`` ({stage: s}) fixes the plan; without it Webster's method plans one per demand
    period (module docstring). ``saturation_flow`` (veh/h) replaces every lane's measured
    saturation flow; ``cycle_min``/``cycle_max`` bound the cycle (s); ``cycle_factor`` and
    ``split_weights`` adjust Webster's plan (tuning).
    """

    name = "fixed-time"

    def __init__(
        self,
        greens: dict[str, float] | None = None,
        saturation_flow: float | None = None,
        cycle_min: float = 30.0,
        cycle_max: float = 120.0,
        cycle_factor: float = 1.0,
        split_weights: dict[str, float] | None = None,
    ) -> None:
        for what, v in (("cycle_min", cycle_min), ("cycle_max", cycle_max),
                        ("cycle_factor", cycle_factor)):  # fmt: skip
            if isinstance(v, bool) or not isinstance(v, int | float) or not v > 0:
                raise OptionError(f"{what}: expected a number > 0, got {v!r}")
        if cycle_min > cycle_max:
            raise OptionError(f"cycle_min ({cycle_min}) must not exceed cycle_max ({cycle_max})")
        if saturation_flow is not None and not (
            isinstance(saturation_flow, int | float) and 300 <= saturation_flow <= 3000
        ):
            raise OptionError(
                f"saturation_flow: expected veh/h in 300-3000, got {saturation_flow!r}"
            )
        if greens is not None and not isinstance(greens, dict):
            raise OptionError(f"greens: expected {{stage: seconds}}, got {greens!r}")
        if split_weights is not None and not isinstance(split_weights, dict):
            raise OptionError(f"split_weights: expected {{stage: weight}}, got {split_weights!r}")
        self.given = {str(k): v for k, v in (greens or {}).items()}
        self.saturation_flow = saturation_flow
        self.cycle_min, self.cycle_max = float(cycle_min), float(cycle_max)
        self.cycle_factor = float(cycle_factor)
        self.split_weights = split_weights
        self.plans: list[SignalPlan] = []

    def reset(self, env: JunctionEnv) -> None:
        super().reset(env)
        spec = env.spec_
        if self.given:
            for s in self.given:
                if s not in self.stages:
                    raise OptionError(
                        f"fixed-time greens: {s!r} is not an action stage {self.stages}"
                    )
            greens = stage_greens(self.given, spec, self.stages, "fixed-time greens")
            lost = lost_time(spec, self.stages)
            forced = forced_green(spec, self.stages)
            self.plans = [SignalPlan(0.0, math.inf, lost + forced + sum(greens.values()), lost,
                                     forced, {}, greens)]  # fmt: skip
            return
        weights = None
        if self.split_weights is not None:
            weights = per_stage(self.split_weights, self.stages, "split_weights", "a weight")
        if self.saturation_flow is not None:
            saturation = dict.fromkeys(spec.approach_lane_ids, float(self.saturation_flow))
        else:
            saturation = load_saturation_flows(spec)
        self.plans = webster_plans(
            spec, self.stages, env.demand, saturation,
            cycle_min=self.cycle_min, cycle_max=self.cycle_max,
            cycle_factor=self.cycle_factor, split_weights=weights,
        )  # fmt: skip

    @property
    def greens(self) -> dict[str, float]:
        """Greens (s) of the first period's plan."""
        return self.plans[0].greens if self.plans else {}

    @property
    def cycle(self) -> float:
        """Cycle (s) of the first period's plan."""
        return self.plans[0].cycle if self.plans else 0.0

    def plan_at(self, time: float) -> SignalPlan:
        """The plan of the demand period containing ``time`` (s); the last after the end."""
        for plan in self.plans:
            if time < plan.end:
                return plan
        return self.plans[-1]

    def act(self, observation: np.ndarray, env: JunctionEnv) -> int:
        i = self._current(env)
        greens = self.plan_at(env.sim.time).greens
        if env.controller.time_in_stage + 1e-9 >= greens[self.stages[i]]:
            return self._next(i)
        return i
