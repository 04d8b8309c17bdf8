"""Reference controllers behind the one Policy interface that trained agents share.

A policy is asked at each decision point of a :class:`JunctionEnv` for an
action (an index into ``env.action_stages``); it may read the observation and
the env's sensor frames and controller state, never the simulator's ground
truth (the fixed-time plan is designed from the demand, as an engineer would).

- ``fixed-time``: Webster's cycle and green splits per demand period, from measured
  saturation flows and the junction's real lost time (:mod:`intergreen.junctions.fixed_time`).
- ``vehicle-actuated``: UK System D on induction loops at 39, 25 and 12 m: an extension per
  vehicle, gap-out, maximum green (:mod:`intergreen.junctions.system_d`).
- ``camera-actuated``: the platform's earlier vehicle actuation on the camera zones (presence
  in the zone extends the green, gap-out after ``gap`` seconds), kept so that results made with
  it can be reproduced.
- ``max-occupancy``: the stage whose lanes' camera zones are most occupied per lane, with a
  margin before it takes the green and a maximum green.
- ``random``: a uniformly random legal action, seeded.
- ``program``, ``max-pressure``, ``greedy``: see :mod:`intergreen.junctions.network_baselines`.

:func:`make_baseline` builds one by name with keyword parameters and refuses unknown ones with
the list of valid ones. ``NAME:tuned`` (e.g. ``vehicle-actuated:tuned``) is the baseline with
the parameters tuned for the junction it runs on, and a parameter file's path (a tune's
``tuned.json``) is the baseline the file names with the file's parameters
(:mod:`intergreen.junctions.baseline_params`).
"""

from __future__ import annotations

import hashlib
import inspect
import re
from difflib import get_close_matches
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from intergreen.errors import OptionError
from intergreen.junctions.baseline_params import (
    TUNED,
    ParamFile,
    ParamFileError,
    check_tuned_junction,
    is_param_file_name,
    read_param_file,
    tuned_params,
)
from intergreen.junctions.fixed_time import FixedTime
from intergreen.junctions.network_baselines import Greedy, MaxPressure, ProgramBaseline
from intergreen.junctions.stage_policy import Policy, per_stage, stage_crossings, stage_greens
from intergreen.junctions.stage_policy import StagePolicy as _StagePolicy
from intergreen.junctions.system_d import VehicleActuated

if TYPE_CHECKING:
    from intergreen.junctions.env import JunctionEnv
    from intergreen.junctions.spec import JunctionSpec


class CameraActuated(_StagePolicy):
    """Vehicle actuation on the camera zones (the platform's ``vehicle-actuated`` until
    System D replaced it; kept under its own name so old results can be reproduced).

    The green is extended while any lane of the running stage sees a vehicle in its zone; it
    gaps out once they have been empty for ``gap`` seconds, and ends at ``max_green`` (s, per
    stage, or one value for all); then the next stage in turn that has a vehicle (or a
    pedestrian at its crossing) waiting gets the green.
    """

    name = "camera-actuated"

    def __init__(self, gap: float = 1.5, max_green: float | dict[str, float] = 40.0) -> None:
        if isinstance(gap, bool) or not isinstance(gap, int | float) or gap <= 0:
            raise OptionError(f"gap must be > 0 s, got {gap}")
        if not isinstance(max_green, dict):
            per_stage(max_green, ["all"], "max_green")
        self.gap = gap
        self.max_green = max_green

    def reset(self, env: JunctionEnv) -> None:
        super().reset(env)
        self._max = stage_greens(self.max_green, env.spec_, self.stages, "max_green")
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
    """Longest queue first, measured as the study did by detector occupancy: the stage
    whose lanes' camera zones are most occupied, per lane (the mean occupancy of the lanes it
    serves, 0..1), so that a stage with four lanes does not outscore one with two.

    The running stage keeps the green unless another stage's score exceeds its own by more
    than ``margin`` (occupancy, 0..1). Without it a queue discharging at saturation flow
    (spread out, so less occupied) loses the green to a standing queue at every minimum
    green, and at high demand the junction spends most of its time in interstages. After
    ``max_green`` seconds (one value, or per stage) the green goes to the most occupied other
    stage whatever the margin, if any of its zones is occupied: without a maximum the main
    road held the green for 699 s at 4,500 veh/h.
    """

    name = "max-occupancy"

    def __init__(self, margin: float = 0.2, max_green: float | dict[str, float] = 40.0) -> None:
        if isinstance(margin, bool) or not isinstance(margin, int | float) or margin < 0:
            raise OptionError(f"margin must be >= 0, got {margin}")
        if not isinstance(max_green, dict):
            per_stage(max_green, ["all"], "max_green")
        self.margin = float(margin)
        self.max_green = max_green

    def reset(self, env: JunctionEnv) -> None:
        super().reset(env)
        self._max = stage_greens(self.max_green, env.spec_, self.stages, "max_green")

    def act(self, observation: np.ndarray, env: JunctionEnv) -> int:
        occ = env.history[-1].occupancy
        scores = np.array([float(occ[mask].mean()) if mask.any() else 0.0 for mask in self.lanes])
        i = self._current(env)
        if env.controller.time_in_stage + 1e-9 >= self._max[self.stages[i]]:
            others = scores.copy()
            others[i] = -np.inf
            j = int(np.argmax(others))
            return j if scores[j] > 0 else i
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


#: What traffic engineers call the baselines (lower case, without spaces, '-' or '_') -> (the
#: baseline, why): an unknown controller of these names is pointed to it.
TERMS: dict[str, tuple[str, str]] = {
    "systemd": ("vehicle-actuated", "System D vehicle actuation is the vehicle-actuated baseline"),
    "va": ("vehicle-actuated", "VA is the vehicle-actuated baseline (System D)"),
    "webster": ("fixed-time", "Webster's plan is the fixed-time baseline's"),
    "fixed": ("fixed-time", "the fixed-time baseline plans by Webster's method"),
    "fixedtime": ("fixed-time", "the baseline is called fixed-time"),
    "maxoccupancy": ("max-occupancy", "the baseline is called max-occupancy"),
    "maxpressure": ("max-pressure", "the baseline is called max-pressure"),
}

BASELINES: dict[str, type] = {
    "fixed-time": FixedTime,
    "vehicle-actuated": VehicleActuated,
    "camera-actuated": CameraActuated,
    "max-occupancy": MaxOccupancy,
    "random": RandomPolicy,
    # baselines that need the road network around the junction (network_baselines.py)
    "program": ProgramBaseline,
    "max-pressure": MaxPressure,
    "greedy": Greedy,
}
# the baselines `intergreen tune --controller` searches (their spaces: tuning/baseline_tune.py)
TUNABLE = ("vehicle-actuated", "camera-actuated", "max-occupancy", "fixed-time")


def baseline_key(name: str) -> str:
    """The registry key of a controller name (``Vehicle_Actuated`` -> ``vehicle-actuated``;
    ``vehicle-actuated:tuned`` keeps its suffix, a parameter file's path stays as given)."""
    return name if is_param_file_name(name) else name.replace("_", "-").lower()


def _registry_key(name: str) -> str:
    """The baseline a name runs (``vehicle-actuated`` for ``vehicle-actuated:tuned`` and for a
    file of its parameters). Raises ParamFileError for an unreadable file or one naming no
    baseline."""
    if not is_param_file_name(name):
        return baseline_key(name).removesuffix(TUNED)
    pf = read_param_file(name)
    if pf.controller not in BASELINES:
        raise ParamFileError(
            f"{name}: names controller {pf.controller!r}, not a baseline; one of "
            f"{', '.join(BASELINES)}"
        )
    return pf.controller


def is_baseline(name: str) -> bool:
    """Whether ``name`` names a baseline (``NAME``, ``NAME:tuned`` or a parameter file's path,
    ``*.json``) rather than a model."""
    return is_param_file_name(name) or baseline_key(name).removesuffix(TUNED) in BASELINES


def baseline_label(name: str) -> str:
    """How results and reports name a baseline: its key (``vehicle-actuated:tuned``), for a
    parameter file the baseline and the file's folder and name (``vehicle-actuated
    (va_tune/tuned.json)``)."""
    if not is_param_file_name(name):
        return baseline_key(name)
    path = Path(name)
    shown = f"{path.parent.name}/{path.name}" if path.parent.name else path.name
    return f"{_registry_key(name)} ({shown})"


def baseline_folder_name(name: str) -> str:
    """A baseline's folder name in a batch (``baselines/<this>-<plan key>``): its key, for a
    parameter file the baseline and 8 hex digits of the file's absolute path and contents
    (``vehicle-actuated-file-1a2b3c4d``), so that two files never share a folder, nor a file
    its results from before a tune rewrote it."""
    if not is_param_file_name(name):
        return baseline_key(name)
    path = Path(name).absolute()
    digest = hashlib.sha256(str(path).encode() + b"\0" + path.read_bytes()).hexdigest()[:8]
    return f"{_registry_key(name)}-file-{digest}"


class TunedBaseline:
    """A baseline with tuned parameters: those of a parameter file (``param_file``, read now
    and checked against the junction at :meth:`reset`), else those tuned for the junction it
    runs on (``NAME:tuned``, read at :meth:`reset` from the junction's ``tuned/NAME.json``);
    ``overrides`` (keyword parameters) replace single ones.

    Raises:
        ParamFileError: at construction, an unreadable ``param_file`` or one for another
            baseline; at reset, a file tuned on another junction, or none for the junction.
        OptionError: at construction, a parameter file's bad parameter name or value.
    """

    def __init__(self, key: str, param_file: str | Path | None = None, **overrides: Any) -> None:
        self.key = key
        self.overrides = overrides
        self.param_file = param_file
        self.file: ParamFile | None = None
        self.inner: Policy | None = None
        self.name = f"{key}{TUNED}"
        if param_file is not None:
            self.name = baseline_label(str(param_file))
            self.file = read_param_file(param_file)
            if self.file.controller != key:
                raise ParamFileError(
                    f"{param_file}: holds {self.file.controller} parameters, not {key}'s"
                )
            try:
                make_baseline(key, **{**self.file.params, **overrides})  # bad names, values
            except OptionError as e:
                raise ParamFileError(f"{param_file}: {e}") from None

    def reset(self, env: JunctionEnv) -> None:
        if self.param_file is not None:
            check_tuned_junction(self.param_file, env.spec_)
        else:
            self.file = tuned_params(env.spec_, self.key)
        self.inner = make_baseline(self.key, **{**self.file.params, **self.overrides})
        self.inner.reset(env)

    def act(self, observation: np.ndarray, env: JunctionEnv) -> int:
        return self.inner.act(observation, env)


def baseline_record(name: str, junction: JunctionSpec) -> dict[str, Any]:
    """What a results folder records about a baseline: for ``NAME:tuned`` or a parameter file,
    the file's absolute path, parameters, validation scores and tuning budget; ``{}`` for a
    plain baseline. Raises ParamFileError when the junction has no tuned file, or the file
    was tuned on another junction."""
    key = baseline_key(name)
    if is_param_file_name(name):
        check_tuned_junction(name, junction)
        pf = read_param_file(name)
    elif key.endswith(TUNED):
        pf = tuned_params(junction, key.removesuffix(TUNED))
    else:
        return {}
    keep = ("params", "default_params", "validation", "budget", "junction", "action_stages")
    return {"tuned_file": str(pf.path.resolve()), **{k: pf.doc[k] for k in keep if k in pf.doc}}


def controller_not_found(name: str) -> OptionError:
    """The error for a controller that is neither a baseline nor an existing run folder or
    model zip: a path-like name (``runs/x``, ``x.zip``) says the path does not exist, any
    other name gets a did-you-mean among the baselines."""
    if "/" in name or "\\" in name or name.endswith(".zip"):
        return OptionError(
            f"controller {name}: no such run folder or model file (train one with "
            f"`intergreen train --out {name.removesuffix('/model.zip')}`, or check the path)"
        )
    close = get_close_matches(baseline_key(name).removesuffix(TUNED), list(BASELINES), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    known_as = TERMS.get(re.sub(r"[\s_\-]", "", name.lower()))
    if known_as is not None:
        hint = f" ({known_as[1]}: did you mean {known_as[0]!r}?)"
    return OptionError(
        f"unknown controller {name!r}{hint}; baselines: {', '.join(BASELINES)}, "
        "or the path of a run folder or model.zip"
    )


def parameter_names(name: str) -> list[str]:
    """The keyword parameters of a baseline, e.g. ``['extension', 'max_green']``; ``[]`` for
    one that takes none (``program``, ``max-pressure``, ``greedy``)."""
    return list(parameter_defaults(name))


def parameter_defaults(name: str) -> dict[str, Any]:
    """A baseline's keyword parameters and their defaults, e.g. ``{'extension': 1.5,
    'max_green': 40.0}`` (``NAME:tuned``: the plain baseline's)."""
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    params = inspect.signature(BASELINES[_registry_key(name)]).parameters
    return {p.name: p.default for p in params.values() if p.kind in named}


def make_baseline(name: str, **params: Any) -> Policy:
    """A baseline by name, e.g. ``make_baseline("vehicle-actuated", max_green=40)``, or by a
    parameter file's path (``make_baseline("va/tuned.json")``: the baseline it names with its
    parameters, ``params`` replacing single ones).

    Raises ValueError for an unknown name (with a did-you-mean and the list of baselines), an
    unknown parameter (with a did-you-mean and the list of valid ones) or a bad value;
    ParamFileError for an unreadable parameter file."""
    if is_param_file_name(name):
        return TunedBaseline(_registry_key(name), param_file=name, **params)
    key = baseline_key(name)
    tuned = key.endswith(TUNED)
    key = key.removesuffix(TUNED)
    if key not in BASELINES:
        raise controller_not_found(name)
    valid = parameter_names(key)
    for p in params:
        if p not in valid:
            close = get_close_matches(p, valid, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            takes = f"valid: {', '.join(valid)}" if valid else "it takes no parameters"
            raise OptionError(f"controller {key}: unknown parameter {p!r}{hint}; {takes}")
    if tuned:
        return TunedBaseline(key, **params)
    try:
        return BASELINES[key](**params)
    except (TypeError, ValueError) as e:  # e.g. --param seed=abc for random
        given = ", ".join(f"{k}={v!r}" for k, v in params.items())
        raise OptionError(f"controller {key}: bad parameter value ({given}): {e}") from None


__all__ = [
    "BASELINES",
    "CameraActuated",
    "FixedTime",
    "MaxOccupancy",
    "Policy",
    "RandomPolicy",
    "TunedBaseline",
    "VehicleActuated",
    "parameter_defaults",
    "parameter_names",
    "baseline_folder_name",
    "baseline_label",
    "baseline_record",
    "controller_not_found",
    "is_baseline",
    "make_baseline",
    "stage_crossings",
]
