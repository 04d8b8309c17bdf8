"""The Policy interface every controller shares, and the bookkeeping the baselines build on.

A policy is asked at each decision point of a :class:`JunctionEnv` for an action (an index
into ``env.action_stages``); it may read the observation, the env's sensor frames, its
controller's state and detectors of its own, never the simulator's ground truth.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from intergreen.errors import OptionError
from intergreen.junctions.spec import JunctionSpec

if TYPE_CHECKING:
    from intergreen.junctions.env import JunctionEnv
    from intergreen.junctions.sensors import SensorFrame


@runtime_checkable
class Policy(Protocol):
    """Chooses an action stage at each decision point."""

    name: str

    def reset(self, env: JunctionEnv) -> None: ...

    def act(self, observation: np.ndarray, env: JunctionEnv) -> int: ...


def stage_crossings(spec: JunctionSpec, stage: str, crossing_arms: tuple[str, ...]) -> np.ndarray:
    """Bool per signalled crossing (in ``crossing_arms`` order): whether the stage runs it."""
    runs = spec.crossings_of(stage)
    return np.array([a in runs for a in crossing_arms], dtype=bool)


def stage_min_green(spec: JunctionSpec, stage: str) -> float:
    """The stage's minimum green (s): the longest of its groups' minimum greens."""
    return max(spec.min_green(g) for g in spec.stages[stage].groups)


class StagePolicy:
    """Shared bookkeeping: the action stages, the lanes and crossings each serves, the
    index of the running one."""

    name = "base"

    def reset(self, env: JunctionEnv) -> None:
        self.stages = list(env.action_stages)
        self.lanes = [env.spec_.stage_lanes(s) for s in self.stages]
        self.crossings = [stage_crossings(env.spec_, s, env.crossing_arms) for s in self.stages]

    def _waiting(self, frame: SensorFrame, j: int) -> float:
        """Demand for stage j: vehicles in its zones plus pedestrians at its crossings."""
        peds = frame.ped_waiting[self.crossings[j]].sum() if frame.ped_waiting.size else 0.0
        return float(frame.count[self.lanes[j]].sum() + peds)

    def _current(self, env: JunctionEnv) -> int:
        stage = env.controller.current_stage
        return self.stages.index(stage) if stage in self.stages else 0

    def _next(self, i: int) -> int:
        return (i + 1) % len(self.stages)


def stage_green_floor(spec: JunctionSpec, stage: str) -> tuple[str, str, float] | None:
    """The least green (s) ``stage`` must show before it may end, with the signal group that
    sets it and the next stage where that group's green ends: ``(group, next stage, s)``
    (:func:`intergreen.junctions.spec.green_floor`); None where no group of it ends."""
    from intergreen.junctions.spec import green_floor

    groups = {k: v.groups for k, v in spec.stages.items()}
    return green_floor(stage, groups, spec.transitions, spec.min_green)


def below_green_floor(spec: JunctionSpec, stage: str, seconds: float, what: str) -> str | None:
    """The message for a green of ``seconds`` (named ``what``) shorter than the least green
    ``stage`` must show before it may end (:func:`stage_green_floor`), else None."""
    floor = stage_green_floor(spec, stage) if stage in spec.stages else None
    if floor is None or seconds >= floor[2]:
        return None
    group, nxt, least = floor
    return (
        f"{what}[{stage}]: {seconds:g} s is less than the minimum green of stage {stage}'s "
        f"signal group {group} ({least:g} s), which ends its green when stage {stage} moves on "
        f"to stage {nxt}; give {least:g} s or more"
    )


def stage_greens(
    value: float | dict[str, float], spec: JunctionSpec, stages: list[str], what: str
) -> dict[str, float]:
    """:func:`per_stage` for a green time a controller gives each action stage (a maximum
    green, a fixed-time green), checked against the junction's signal rules: one below the
    minimum green a stage must show before it may end is refused (the controller would hold
    the stage that long whatever the option says, and report the option's value); one above
    the junction's own maximum green of a stage (``stages.S.max_green``) is warned of, as
    the junction's ends the stage first.

    Raises:
        OptionError: naming ``what``, the stage, the signal group and the least value.
    """
    import warnings

    out = per_stage(value, stages, what)
    for stage, seconds in out.items():
        short = below_green_floor(spec, stage, seconds, what)
        if short is not None:
            raise OptionError(short)
        cap = spec.stages[stage].max_green
        if cap is not None and seconds > cap:
            warnings.warn(  # no value in the text: one line however many trials give one
                f"{what}[{stage}] is more than junction {spec.name}'s maximum green of stage "
                f"{stage} ({cap:g} s, stages.{stage}.max_green), which ends it first",
                stacklevel=2,
            )
    return out


def per_stage(
    value: float | dict[str, float], stages: list[str], what: str, unit: str = "seconds"
) -> dict[str, float]:
    """One value per action stage from a number (every stage) or a mapping (stage -> value).

    Raises OptionError naming ``what`` for a stage that is not an action stage, a missing
    stage or a value that is not a number > 0 (``unit``: what the message calls it)."""
    if isinstance(value, dict):
        given = {str(k): v for k, v in value.items()}
        unknown = sorted(set(given) - set(stages))
        if unknown:
            raise OptionError(
                f"{what}: {', '.join(map(repr, unknown))} is not an action stage; "
                f"action stages: {', '.join(stages)}"
            )
        missing = [s for s in stages if s not in given]
        if missing:
            raise OptionError(f"{what}: give a value for every action stage (missing {missing})")
        out = given
    else:
        out = dict.fromkeys(stages, value)
    for s, v in out.items():
        if isinstance(v, bool) or not isinstance(v, int | float) or not v > 0:
            raise OptionError(f"{what}[{s}]: expected {unit} > 0, got {v!r}")
    return {s: float(v) for s, v in out.items()}
