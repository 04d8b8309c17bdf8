"""JunctionSpec: what is simulated and the signal rules it runs under.

A junction YAML names its arms (bearing, length, speed limit, approach lanes and
the movements each lane serves), its signal groups (UK "phases"), the stages
(sets of non-conflicting groups), the intergreen matrix, minimum and maximum
greens, the permitted stage transitions, the agent's action stages, the sensors
and the time step. :func:`parse_spec` validates its data (``catalog.load_spec`` reads the
file); every error names the field at fault and how to fix it.

Conflicts between signal groups are derived from geometry (traffic drives on
the left): two movements conflict when their paths cross or merge, except that
a right turn on a full green filters (gives way) against the opposite arm, as
in UK practice; an *arrow* group runs the same right turn protected. Extra
conflicts may be declared (e.g. for sight lines); they can only add.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from intergreen.common import first_repeat
from intergreen.errors import IntergreenError, format_validation_error
from intergreen.junctions import rules as rule_profiles
from intergreen.junctions.rules import MAX_AMBER, MAX_GREEN, MAX_INTERGREEN

#: The fewest distinct action stages a controller can choose among (one would be held all episode).
MIN_ACTION_STAGES = 2

Turn = Literal["left", "ahead", "right"]
TURNS: tuple[Turn, ...] = ("left", "ahead", "right")


class SpecError(IntergreenError, ValueError):
    """A junction or demand file is invalid; the message names the field and the fix."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ApproachLane(_Model):
    """One approach lane, numbered from the kerb (0) outwards, and the turns it serves."""

    movements: list[Turn] = Field(min_length=1)

    @field_validator("movements")
    @classmethod
    def _unique(cls, v: list[Turn]) -> list[Turn]:
        if len(set(v)) != len(v):
            raise ValueError(f"movements repeat a turn: {v}")
        return v


class Arm(_Model):
    """A road arm: its compass bearing from the junction centre and its lanes."""

    bearing: float = Field(ge=0, lt=360, description="degrees clockwise from north")
    length: float = Field(gt=20, description="approach length in metres")
    speed_limit: float = Field(gt=0, description="m/s")
    approach_lanes: list[ApproachLane] = Field(min_length=1)
    exit_lanes: int = Field(ge=1)


class SignalGroup(_Model):
    """A UK signal 'phase': movements that always show the same aspect.

    ``movements`` are ``ARM.turn`` names, or ``ARM.crossing`` for a pedestrian
    crossing over that arm. An ``arrow`` group is a right-turn green arrow that
    runs movements also served (filtering) by their arm's main group.
    """

    movements: list[str] = Field(min_length=1)
    min_green: float | None = Field(default=None, ge=0, le=MAX_GREEN)
    arrow: bool = False


class Stage(_Model):
    groups: list[str] = Field(min_length=1)
    max_green: float | None = Field(default=None, gt=0, le=MAX_GREEN)
    description: str = ""


class Timing(_Model):
    step_length: float = Field(default=1.0, gt=0, le=5)
    decision_interval: float = Field(default=1.0, gt=0)
    amber: float = Field(default=3.0, ge=0, le=MAX_AMBER)
    red_amber: float = Field(default=2.0, ge=0, le=MAX_AMBER)
    default_min_green: float = Field(default=7.0, ge=0, le=MAX_GREEN)
    default_intergreen: float | None = Field(default=5.0, ge=0, le=MAX_INTERGREEN)

    @model_validator(mode="after")
    def _decision_multiple(self) -> Timing:
        ratio = self.decision_interval / self.step_length
        if ratio < 1 - 1e-9 or abs(ratio - round(ratio)) > 1e-6:
            raise ValueError(
                f"decision_interval ({self.decision_interval}) must be a whole multiple of "
                f"step_length ({self.step_length})"
            )
        return self


class Noise(_Model):
    """Sensor imperfections, all seeded: Gaussian count noise (sd, vehicles), the
    probability a vehicle is missed, and the probability a sensor drops out for a step."""

    count_sd: float = Field(default=0.0, ge=0)
    miss_prob: float = Field(default=0.0, ge=0, le=1)
    dropout_prob: float = Field(default=0.0, ge=0, le=1)


class Sensors(_Model):
    """Camera zones (SUMO lane-area detectors, E2) from the stop line on every approach lane,
    plus optional stop-line detectors (``stop_line_loops``: 1 m lane-area detectors, E2, over
    the stop line, counting the vehicles that cross it)."""

    camera_range: float = Field(default=60.0, gt=0, description="zone length from stop line, m")
    stop_line_loops: bool = True
    sample_interval: float | None = Field(
        default=None, gt=0, description="s between sensor readings; None: every step"
    )
    noise: Noise = Noise()


class JunctionSpec(_Model):
    """A validated junction. Build with :func:`load_spec` or ``JunctionSpec.model_validate``."""

    #: The folder of the YAML it was read from (catalog.load_spec, imported.load_imported;
    #: None: built in code); not part of the spec.
    _folder: Path | None = PrivateAttr(default=None)
    #: The intergreens its YAML states below its rule profile's minimum, raised to it at load
    #: (:func:`stated_below_minimum`; catalog.load_spec); empty when built in code.
    _raised: tuple[str, ...] = PrivateAttr(default=())

    name: str = Field(pattern=r"^[A-Za-z0-9_\-]+$")
    extends: str | None = Field(
        default=None, description="the junction this one varies; its demand files apply here"
    )
    description: str = ""
    rules: str | dict[str, Any] = Field(
        default="uk", description="signal-rule profile (junctions/rules.py) setting timing defaults"
    )
    timing: Timing = Timing()
    arms: dict[str, Arm] = Field(min_length=2)
    signal_groups: dict[str, SignalGroup] = Field(min_length=1)
    stages: dict[str, Stage] = Field(min_length=2)
    transitions: dict[str, list[str]]
    action_stages: list[str]  # at least two, each once: _check_stages
    initial_stage: str
    intergreens: dict[str, dict[str, float]] = Field(default_factory=dict)
    extra_conflicts: list[tuple[str, str]] = Field(default_factory=list)
    sensors: Sensors = Sensors()

    #: Whether a SUMO route file (.rou.xml) is a demand of this junction (:meth:`own_demand`).
    takes_route_files: ClassVar[bool] = False

    @model_validator(mode="before")
    @classmethod
    def _stringify_stage_names(cls, data: Any) -> Any:
        """YAML writes stage names as integers; use strings throughout."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if isinstance(data.get("stages"), dict):
            data["stages"] = {str(k): v for k, v in data["stages"].items()}
        if isinstance(data.get("transitions"), dict):
            data["transitions"] = {
                str(k): [str(x) for x in v] if isinstance(v, list) else v
                for k, v in data["transitions"].items()
            }
        for key in ("action_stages",):
            if isinstance(data.get(key), list):
                data[key] = [str(x) for x in data[key]]
        if "initial_stage" in data and data["initial_stage"] is not None:
            data["initial_stage"] = str(data["initial_stage"])
        return apply_rules(data)

    @model_validator(mode="after")
    def _check(self) -> JunctionSpec:
        interval = self.sensors.sample_interval
        if interval is not None:
            ratio = interval / self.timing.step_length
            if ratio < 1 - 1e-9 or abs(ratio - round(ratio)) > 1e-6:
                raise SpecError(
                    f"sensors.sample_interval ({interval}) must be a whole multiple of "
                    f"timing.step_length ({self.timing.step_length})"
                )
        _check_movements(self)
        _check_stages(self)
        _check_intergreens(self)
        return self

    @property
    def folder(self) -> Path | None:
        """The folder of the junction YAML it was read from (None: built in code); a shipped
        junction's library folder."""
        return self._folder

    # ----- derived facts -------------------------------------------------------------
    @cached_property
    def movements(self) -> list[str]:
        """Every vehicle movement ``ARM.turn`` served by some approach lane."""
        out = []
        for arm_id, arm in self.arms.items():
            for turn in TURNS:
                if any(turn in lane.movements for lane in arm.approach_lanes):
                    out.append(f"{arm_id}.{turn}")
        return out

    @cached_property
    def destinations(self) -> dict[str, str]:
        """Movement ``ARM.turn`` -> destination arm, from the arms' bearings."""
        return {m: _destination(self, *m.split(".")) for m in self.movements}

    @property
    def raised_intergreens(self) -> tuple[str, ...]:
        """The intergreens its YAML states below its rule profile's minimum intergreen, each
        raised to that minimum at load (e.g. ``("F->A 3 s",)``); empty when none, or when the
        spec was not read from a YAML file."""
        return self._raised

    @cached_property
    def conflicts(self) -> frozenset[tuple[str, str]]:
        """Ordered pairs of conflicting signal groups (both orders present)."""
        return _derive_conflicts(self)

    def conflict(self, a: str, b: str) -> bool:
        return (a, b) in self.conflicts

    def intergreen(self, losing: str, gaining: str) -> float:
        """Intergreen (s) from the end of green of ``losing`` to the start of ``gaining``."""
        value = self.intergreens.get(losing, {}).get(gaining)
        if value is not None:
            return value
        assert self.timing.default_intergreen is not None  # checked at validation
        return self.timing.default_intergreen

    def min_green(self, group: str) -> float:
        value = self.signal_groups[group].min_green
        return self.timing.default_min_green if value is None else value

    def stage_path(self, start: str, target: str) -> list[str]:
        """Shortest permitted path of stages from ``start`` to ``target`` (excluding start)."""
        if start == target:
            return []
        prev: dict[str, str] = {start: start}
        queue = deque([start])
        while queue:
            s = queue.popleft()
            for nxt in self.transitions.get(s, []):
                if nxt not in prev:
                    prev[nxt] = s
                    if nxt == target:
                        path = [nxt]
                        while prev[path[-1]] != start:
                            path.append(prev[path[-1]])
                        return path[::-1]
                    queue.append(nxt)
        raise SpecError(f"stage {target!r} cannot be reached from stage {start!r}")

    @cached_property
    def approach_lane_ids(self) -> list[str]:
        """Approach lanes as ``ARM_i`` (i from the kerb), in arm order."""
        return [f"{a}_{i}" for a, arm in self.arms.items() for i in range(len(arm.approach_lanes))]

    def crossings_of(self, stage: str) -> set[str]:
        """The arms whose pedestrian crossing ``stage`` runs (none: a traffic-only stage).
        Raises KeyError for an unknown stage."""
        return {
            m.split(".")[0]
            for g in self.stages[stage].groups
            for m in self.signal_groups[g].movements
            if m.endswith(".crossing")
        }

    def stage_lanes(self, stage: str) -> np.ndarray:
        """Bool per approach lane (``approach_lane_ids`` order): whether ``stage`` gives it a
        green. Raises KeyError for an unknown stage."""
        groups = [self.signal_groups[g] for g in self.stages[stage].groups]
        return np.array(
            [
                any(f"{arm_id}.{t}" in g.movements for g in groups for t in lane.movements)
                for arm_id, arm in self.arms.items()
                for lane in arm.approach_lanes
            ],
            dtype=bool,
        )

    # ----- hooks for a junction that brings its own SUMO network (junctions/imported.py) -
    def prebuilt_network(self, pedestrians: bool = False, force: bool = False) -> Any:
        """The built network of a junction that has one already; None: build it from the
        geometry (network.build_network)."""
        return None

    def own_demand(self, demand: Any) -> dict[str, Any] | None:
        """A demand this junction brings itself (e.g. its network's route files), as the
        fields of a DemandProfile (``name``, ``source``, ``route_files``, ``sumo_begin``,
        ``duration`` in s and ``flows`` in veh/h per movement), or None for the usual demand
        profiles (junctions/demand.py builds the profile)."""
        return None

    def own_demand_names(self) -> list[str]:
        """Names of the demands :meth:`own_demand` knows."""
        return []

    def sumo_options(self) -> dict[str, str]:
        """SUMO command-line options this junction sets (option -> value)."""
        return {}

    def content_hash(self) -> str:
        """Hash of everything the road network depends on."""
        payload = {
            "arms": {k: v.model_dump() for k, v in self.arms.items()},
            "groups": {k: v.model_dump() for k, v in self.signal_groups.items()},
            "camera_range": self.sensors.camera_range,
            "loops": self.sensors.stop_line_loops,
            "format": 7,
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


# ----- geometry -------------------------------------------------------------------------
def _opposite(spec: JunctionSpec, arm_id: str) -> str:
    bearing = spec.arms[arm_id].bearing
    return min(
        (a for a in spec.arms if a != arm_id),
        key=lambda a: abs(((spec.arms[a].bearing - bearing - 180) + 180) % 360 - 180),
    )


def _destination(spec: JunctionSpec, arm_id: str, turn: str) -> str:
    """Destination arm of a turn. Arriving from arm A the vehicle heads towards A+180;
    left is the nearest arm anticlockwise of ahead on the compass (UK: left turns are
    kerbside), right the nearest clockwise."""
    heading = (spec.arms[arm_id].bearing + 180) % 360
    others = [a for a in spec.arms if a != arm_id]

    def rel(a: str) -> float:  # signed angle from the heading, + clockwise (to the right)
        return ((spec.arms[a].bearing - heading) + 180) % 360 - 180

    if turn == "ahead":
        return min(others, key=lambda a: abs(rel(a)))
    if turn == "left":
        cands = [a for a in others if rel(a) < -20]
        return max(cands, key=rel) if cands else min(others, key=rel)
    cands = [a for a in others if rel(a) > 20]
    return min(cands, key=rel) if cands else max(others, key=rel)


def _circle_points(spec: JunctionSpec, arm_id: str) -> tuple[float, float]:
    """Entry and exit points of an arm on a circle round the junction (radians,
    clockwise compass). Driving on the left, traffic entering from the north arm
    uses its east (clockwise) side and traffic leaving by it the west side."""
    b = math.radians(spec.arms[arm_id].bearing)
    eps = 0.1
    return b + eps, b - eps  # entry (clockwise side), exit (anticlockwise side)


def _chords_cross(p: tuple[float, float], q: tuple[float, float]) -> bool:
    def norm(x: float) -> float:
        return x % (2 * math.pi)

    a, b = sorted((norm(p[0]), norm(p[1])))

    def inside(x: float) -> bool:
        return a < norm(x) < b

    return inside(q[0]) != inside(q[1])


def _movement_paths_conflict(spec: JunctionSpec, m1: str, m2: str) -> bool:
    a1, _ = m1.split(".")
    a2, _ = m2.split(".")
    if a1 == a2:
        return False
    d1, d2 = spec.destinations[m1], spec.destinations[m2]
    if d1 == d2:
        return True  # merging
    p = (_circle_points(spec, a1)[0], _circle_points(spec, d1)[1])
    q = (_circle_points(spec, a2)[0], _circle_points(spec, d2)[1])
    return _chords_cross(p, q)


def _filters(spec: JunctionSpec, m1: str, m2: str) -> bool:
    """True when m1 and m2 meet only as a right turn giving way to the opposite arm."""
    (a1, t1), (a2, t2) = m1.split("."), m2.split(".")
    return (t1 == "right" and _opposite(spec, a1) == a2) or (
        t2 == "right" and _opposite(spec, a2) == a1
    )


def _derive_conflicts(spec: JunctionSpec) -> frozenset[tuple[str, str]]:
    pairs: set[tuple[str, str]] = set()
    names = list(spec.signal_groups)
    for i, g1 in enumerate(names):
        for g2 in names[i + 1 :]:
            if _groups_conflict(spec, g1, g2):
                pairs |= {(g1, g2), (g2, g1)}
    for g1, g2 in spec.extra_conflicts:
        pairs |= {(g1, g2), (g2, g1)}
    return frozenset(pairs)


def _groups_conflict(spec: JunctionSpec, g1: str, g2: str) -> bool:
    s1, s2 = spec.signal_groups[g1], spec.signal_groups[g2]
    for m1 in s1.movements:
        for m2 in s2.movements:
            c1, c2 = m1.endswith(".crossing"), m2.endswith(".crossing")
            if c1 and c2:
                continue
            if c1 or c2:
                crossing, movement = (m1, m2) if c1 else (m2, m1)
                arm = crossing.split(".")[0]
                if movement.split(".")[0] == arm or spec.destinations[movement] == arm:
                    return True
                continue
            if not _movement_paths_conflict(spec, m1, m2):
                continue
            protected = s1.arrow or s2.arrow
            if _filters(spec, m1, m2) and not protected:
                continue
            return True
    return False


# ----- signal-rule profiles -----------------------------------------------------------------
def apply_rules(data: dict[str, Any], program_amber: float | None = None) -> dict[str, Any]:
    """``data`` (a junction mapping) with its rule profile applied: the timing defaults filled
    in where ``timing`` does not give them (amber, red+amber, minimum green, the default
    intergreen), and every intergreen, stated or default, raised to the profile's minimum
    intergreen (``uk``: 5 s). ``program_amber`` is the signal program's amber, for profiles
    that take it (``rules: program``). Other values the junction states are kept.

    The profile is applied here, at load, and nowhere else (an imported YAML states the
    program's or the geometry's intergreens, never the profile's minimum), so editing
    ``rules:`` alone switches a junction between profiles."""
    try:
        profile = rule_profiles.resolve(data.get("rules", "uk"))
    except ValueError as e:
        raise SpecError(str(e)) from None
    timing = data.get("timing")
    if timing is not None and not isinstance(timing, dict):
        return data  # the model reports the wrong type
    timing = dict(timing or {})
    amber = profile.amber if profile.amber is not None else program_amber
    if amber is None and "amber" not in timing:
        raise SpecError(
            f"rules: {profile.name} takes the amber from a signal program and this junction has "
            "none; give timing.amber or use rules: uk"
        )
    timing.setdefault("amber", amber)
    timing.setdefault("red_amber", profile.red_amber)
    timing.setdefault("default_min_green", profile.default_min_green)
    timing.setdefault("default_intergreen", 5.0)
    floor = profile.min_intergreen
    timing["default_intergreen"] = _at_least(timing["default_intergreen"], floor)
    igs = data.get("intergreens")
    if isinstance(igs, dict):
        igs = {
            lo: {ga: _at_least(v, floor) for ga, v in row.items()} if isinstance(row, dict) else row
            for lo, row in igs.items()
        }
        return {**data, "timing": timing, "intergreens": igs}
    return {**data, "timing": timing}


def stated_below_minimum(data: Any) -> tuple[str, ...]:
    """The intergreens a junction mapping states below its rule profile's minimum
    intergreen, which :func:`apply_rules` raises to it at load: ``"F->A 3 s"`` per pair of
    ``intergreens`` (losing -> gaining group) and ``"timing.default_intergreen 4 s"``, in
    the mapping's order; empty for a mapping the model will reject (an unknown profile,
    values that are not durations)."""
    if not isinstance(data, dict):
        return ()
    try:
        floor = rule_profiles.resolve(data.get("rules", "uk")).min_intergreen
    except ValueError:
        return ()
    found: list[str] = []

    def below(value: Any) -> bool:
        return _at_least(value, floor) != value

    timing = data.get("timing")
    default = timing.get("default_intergreen") if isinstance(timing, dict) else None
    if below(default):
        found.append(f"timing.default_intergreen {default:g} s")
    igs = data.get("intergreens")
    for lo, row in igs.items() if isinstance(igs, dict) else ():
        for ga, value in row.items() if isinstance(row, dict) else ():
            if below(value):
                found.append(f"{lo}->{ga} {value:g} s")
    return tuple(found)


def _at_least(value: Any, floor: float) -> Any:
    """``value`` raised to ``floor`` when it is a valid duration (s); anything else as it is,
    for the model to report."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return max(value, floor)
    return value


# ----- validation -----------------------------------------------------------------------
def _check_movements(spec: JunctionSpec) -> None:
    known = set(spec.movements)
    served: dict[str, list[str]] = {}
    for g, group in spec.signal_groups.items():
        for m in group.movements:
            arm, _, turn = m.partition(".")
            if arm not in spec.arms:
                raise SpecError(
                    f"signal_groups.{g}.movements: unknown arm {arm!r} in {m!r} "
                    f"(arms: {', '.join(spec.arms)})"
                )
            if turn == "crossing":
                continue
            if m not in known:
                raise SpecError(
                    f"signal_groups.{g}.movements: no approach lane of arm {arm} serves {m!r}; "
                    f"add {turn!r} to a lane's movements or remove it"
                )
            if group.arrow and turn != "right":
                raise SpecError(f"signal_groups.{g}: an arrow group may only run right turns")
            if not group.arrow:
                served.setdefault(m, []).append(g)
    for m in known:
        groups = served.get(m, [])
        if len(groups) != 1:
            what = "no" if not groups else f"{len(groups)} ({', '.join(groups)})"
            raise SpecError(
                f"signal_groups: movement {m} is controlled by {what} non-arrow groups; "
                "each movement needs exactly one"
            )
    check_extra_conflicts(spec)


def check_extra_conflicts(spec: JunctionSpec) -> None:
    """Every group named in ``extra_conflicts`` exists (SpecError otherwise); for every kind of
    junction, generated or imported."""
    for g1, g2 in spec.extra_conflicts:
        for g in (g1, g2):
            if g not in spec.signal_groups:
                raise SpecError(f"extra_conflicts: unknown signal group {g!r}")


def _check_stages(spec: JunctionSpec) -> None:
    for s, stage in spec.stages.items():
        for g in stage.groups:
            if g not in spec.signal_groups:
                raise SpecError(
                    f"stages.{s}.groups: unknown signal group {g!r} "
                    f"(groups: {', '.join(spec.signal_groups)})"
                )
        for i, g1 in enumerate(stage.groups):
            for g2 in stage.groups[i + 1 :]:
                if spec.conflict(g1, g2):
                    raise SpecError(
                        f"stages.{s}.groups: signal groups {g1} and {g2} conflict and cannot "
                        "run green in the same stage"
                    )
    for s, targets in spec.transitions.items():
        if s not in spec.stages:
            raise SpecError(f"transitions: unknown stage {s!r} (stages: {', '.join(spec.stages)})")
        for t in targets:
            if t not in spec.stages:
                raise SpecError(f"transitions.{s}: transition to missing stage {t!r}")
            if t == s:
                raise SpecError(f"transitions.{s}: a stage cannot move to itself")
    for s in spec.stages:
        if not spec.transitions.get(s):
            raise SpecError(f"transitions: stage {s!r} has no permitted next stage")
    for field, stages in (
        ("action_stages", spec.action_stages),
        ("initial_stage", [spec.initial_stage]),
    ):
        for s in stages:
            if s not in spec.stages:
                raise SpecError(f"{field}: unknown stage {s!r} (stages: {', '.join(spec.stages)})")
    chosen = spec.action_stages
    if len(set(chosen)) < MIN_ACTION_STAGES:
        raise SpecError(
            f"action_stages: {chosen} names {'one stage' if chosen else 'no stage'}; a "
            f"controller needs at least {MIN_ACTION_STAGES} to choose among (with one it holds "
            f"that stage all episode and the other stages' traffic never gets a green); list at "
            f"least two of the stages {', '.join(spec.stages)}"
        )
    repeated = first_repeat(chosen)
    if repeated is not None:
        raise SpecError(
            f"action_stages: {chosen} names stage {repeated} more than once (the baselines "
            f"would take it for two stages and hold it); list each stage once, e.g. "
            f"[{', '.join(dict.fromkeys(chosen))}]"
        )
    for a in spec.action_stages:
        for b in spec.action_stages:
            if a != b:
                spec.stage_path(a, b)  # raises when unreachable
    groups = {k: v.groups for k, v in spec.stages.items()}
    for s, stage in spec.stages.items():
        floor = green_floor(s, groups, spec.transitions, spec.min_green)
        if stage.max_green is not None and floor is not None and stage.max_green < floor[2]:
            raise SpecError(_max_below_min_green(spec, s, *floor))


def green_floor(
    stage: str,
    groups: Mapping[str, Sequence[str]],
    transitions: Mapping[str, Sequence[str]],
    min_green: Callable[[str], float],
) -> tuple[str, str, float] | None:
    """The shortest maximum green ``stage`` may have: ``(group, next stage, seconds)``, the
    longest minimum green among its signal groups that end their green when it moves on to a
    permitted next stage (a group that runs on in every next stage need not have had its
    minimum green by then); None when no group of it ends there.

    Args:
        stage: the stage.
        groups: stage -> its signal groups.
        transitions: stage -> the stages it may move to.
        min_green: a signal group's minimum green (s).
    """
    floor: tuple[str, str, float] | None = None
    for nxt in transitions.get(stage, ()):
        for g in groups[stage]:
            if g not in groups.get(nxt, ()) and (floor is None or min_green(g) > floor[2]):
                floor = (g, nxt, min_green(g))
    return floor


def _max_below_min_green(spec: JunctionSpec, stage: str, group: str, nxt: str, least: float) -> str:
    """The message for a stage whose maximum green is shorter than the minimum green of its
    signal group ``group``, which ends its green when the stage moves on to ``nxt`` (the
    controller would have to break one of them)."""
    if spec.signal_groups[group].min_green is not None:
        source = f"signal_groups.{group}.min_green"
    else:
        profile = rule_profiles.resolve(spec.rules)
        source = "timing.default_min_green" + (
            f", the {profile.name} rules' default"
            if spec.timing.default_min_green == profile.default_min_green
            else ""
        )
    return (
        f"stages.{stage}.max_green: {spec.stages[stage].max_green:g} s is less than the minimum "
        f"green of its signal group {group} ({least:g} s: {source}), which ends its green when "
        f"stage {stage} moves on to stage {nxt}; give a max_green of {least:g} s or more"
    )


def _check_intergreens(spec: JunctionSpec) -> None:
    for losing, row in spec.intergreens.items():
        for gaining, value in row.items():
            where = f"intergreens.{losing}.{gaining}"
            for g in (losing, gaining):
                if g not in spec.signal_groups:
                    raise SpecError(f"{where}: unknown signal group {g!r}")
            if not spec.conflict(losing, gaining):
                raise SpecError(
                    f"{where}: groups {losing} and {gaining} do not conflict; remove it"
                )
            if not 0 <= value <= MAX_INTERGREEN:
                raise SpecError(
                    f"{where}: an intergreen is 0-{MAX_INTERGREEN:g} s, got {value:g}; fix the "
                    "value in the junction file"
                )
    if spec.timing.default_intergreen is None:
        for losing, gaining in sorted(spec.conflicts):
            if gaining not in spec.intergreens.get(losing, {}):
                raise SpecError(
                    f"intergreens.{losing}.{gaining}: missing for conflicting groups and "
                    "timing.default_intergreen is null; give a value or a default"
                )


# ----- loading --------------------------------------------------------------------------
def parse_spec(
    data: Any, source: str = "junction spec", model: type[JunctionSpec] = JunctionSpec
) -> JunctionSpec:
    """Validate a mapping (as read from YAML) into a JunctionSpec (or the subclass ``model``)."""
    if not isinstance(data, dict):
        raise SpecError(f"{source}: expected a mapping at the top level, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except SpecError as e:
        raise SpecError(f"{source}: {e}") from None
    except ValidationError as e:
        # SpecErrors raised inside validators arrive wrapped as ValueErrors.
        raise SpecError(format_validation_error(e, source, model)) from None


# ----- signal links -----------------------------------------------------------------------
#: The state character intergreen's controller shows at an unused link index: red, the state
#: netconvert fills in where it adds one (``NBTrafficLightLogic::setStateLength``); SUMO
#: applies it to no link and runs it without a warning.
UNUSED_STATE = "r"
#: The movement of an unused link index.
UNUSED_MOVEMENT = "unused"


class Link(_Model):
    """One signal link (a lane-to-lane connection or a crossing) and who controls it.

    Its aspect is the ``arrow`` group's when that shows green, else the main
    ``group``'s; a green shows as SUMO's minor green ``g`` (give way) while any of
    ``filters_against`` is green, e.g. a right turn opposed by the opposite arm.
    An unused link index of an imported traffic light (no connection carries it) is a Link
    with no group (:meth:`unused_index`): it always shows :data:`UNUSED_STATE`.
    """

    movement: str
    group: str | None
    arrow: str | None = None
    filters_against: tuple[str, ...] = ()

    @classmethod
    def unused_index(cls) -> Link:
        """The Link of a state position no connection carries."""
        return cls(movement=UNUSED_MOVEMENT, group=None)

    @property
    def unused(self) -> bool:
        """Whether no connection carries this link index (SUMO applies its state to none)."""
        return self.group is None


def link_for(spec: JunctionSpec, movement: str) -> Link:
    """The Link controlling ``movement`` (``ARM.turn`` or ``ARM.crossing``)."""
    main = [g for g, sg in spec.signal_groups.items() if movement in sg.movements and not sg.arrow]
    if not main:
        raise SpecError(f"no signal group controls movement {movement}")
    arrow = next(
        (g for g, sg in spec.signal_groups.items() if sg.arrow and movement in sg.movements), None
    )
    against: set[str] = set()
    arm, _, turn = movement.partition(".")
    if turn == "right":
        for g, sg in spec.signal_groups.items():
            if sg.arrow or g == main[0]:
                continue
            for m in sg.movements:
                if m.endswith(".crossing"):
                    continue
                if m.split(".")[0] == _opposite(spec, arm) and _movement_paths_conflict(
                    spec, movement, m
                ):
                    against.add(g)
    return Link(
        movement=movement, group=main[0], arrow=arrow, filters_against=tuple(sorted(against))
    )
