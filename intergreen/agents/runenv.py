"""Rebuild a trained agent's environment from its run's recorded options and the caller's.

Every path that runs a trained agent (``intergreen evaluate``, ``simulate --controller RUN``,
``compare``, ``tune``, and ``load_policy(RUN).make_env(...)`` in Python) builds its env with
:func:`make_run_env`, under one precedence:

1. the caller's options, where the caller gives a value (an option left ``None`` is not given);
2. the run's recorded options (config.json ``env``: the preset's options updated by ``--env``,
   e.g. ``duration``, ``decisions``, ``n_stack``);
3. ``make_env``'s defaults.

The junction is the caller's when given, else the run's: the absolute path it recorded for a
user's junction file (config.json ``junction_file``) where that file is there, else the name it
was given (a shipped junction's, or a path relative to the folder ``train`` ran in, as runs
recorded before ``junction_file`` have it); a recorded path that is not found is one line
naming the run's config.json and ``--junction``. A caller option that changes what the
agent observes or chooses among (``n_stack``, ``features``, ``action_stages``, ...) gives an
env the agent cannot act in: ``AgentPolicy.reset`` refuses it with the shapes.

Controllers compared side by side (``intergreen evaluate``) play the same episodes: the
:data:`EPISODE_OPTIONS` (the episode's length, its pedestrians, the sensors' noise) are those of
:func:`common_episode`, for baselines too, while each controller keeps its own way of observing
and acting (``decisions``, ``n_stack``, ``action_stages``, ...).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from intergreen.common import check_sim_seconds
from intergreen.errors import OptionError

if TYPE_CHECKING:
    from intergreen.junctions.env import JunctionEnv

#: The junction of controllers that record none (baselines).
DEFAULT_JUNCTION = "gm_a56"
#: ``make_env`` options that set the episode itself rather than a controller's view of it: how
#: long it is simulated (s), whether pedestrians walk, how the junction's sensors err. Every
#: controller evaluated beside a trained agent meets the agent's (:func:`common_episode`).
EPISODE_OPTIONS = ("duration", "pedestrians", "sensor_noise")
#: The command-line option that sets an episode option for every controller, where one does.
EPISODE_FLAGS = {"duration": "--duration"}
#: ``make_env``'s arguments that ``intergreen train`` sets with an option of its own, never
#: with ``--env KEY=VALUE``.
TRAIN_FLAGS = {"junction": "--junction", "demand": "--demand", "reward": "--reward",
               "seed": "--seed"}  # fmt: skip


@dataclass(frozen=True)
class RunEnv:
    """What a run records about its environment: the junction, ``make_env``'s options and the
    training demand (a name or a list; None where unknown, e.g. a bare model); ``record``, the
    config.json they were read from (None: not read from a run folder); ``junction_file``, the
    absolute path of the junction YAML the run recorded (config.json ``junction_file``; None:
    a shipped junction, or a run recorded before ``junction_file``)."""

    junction: str = DEFAULT_JUNCTION
    options: Mapping[str, Any] = field(default_factory=dict)
    demand: str | list[str] | None = None
    record: str | None = None
    junction_file: str | None = None


def recorded_env(run_dir: str | Path) -> RunEnv:
    """A run folder's recorded junction and options (a bare model without config.json: gm_a56
    and make_env's defaults); RunDirError when config.json is unreadable. The junction is the
    recorded ``junction_file`` where that file exists, else the name the run was given (see
    the module docstring)."""
    from intergreen.agents.rundir import load_run_config, read_run_record
    from intergreen.junctions.catalog import junction_of_record

    cfg_file = Path(run_dir) / "config.json"
    if not cfg_file.exists():
        return RunEnv()
    cfg = load_run_config(run_dir)
    file = read_run_record(run_dir).get("junction_file")
    file = file if isinstance(file, str) else None
    junction = junction_of_record(cfg.junction, file)
    return RunEnv(junction, cfg.resolved_env_kwargs(), cfg.demand, str(cfg_file), file)


def recorded_junction(run: RunEnv) -> str:
    """The junction ``run`` recorded, checked to be found from the current folder.

    Raises:
        OptionError: a recorded junction that is not there, naming the run's config.json and
            ``--junction``: the recorded ``junction_file`` that is gone (moved or deleted since
            the run was trained) where the run has one; else the name it was given, an
            absolute path that is gone or a path relative to the folder the run was trained
            in (a run recorded before ``junction_file``), used from another.
    """
    from intergreen.junctions.catalog import junction_found

    if run.record is None or junction_found(run.junction):
        return run.junction
    if run.junction_file is not None:
        what = (
            f"file {run.junction_file} (given as {run.junction}) is not found (moved or "
            "deleted since the run was trained)"
        )
    elif Path(run.junction).is_absolute():
        what = f"{run.junction} is not found (moved or deleted since the run was trained)"
    else:
        what = (
            f"{run.junction} is not found from {Path.cwd()} (a path relative to the folder "
            "the run was trained in)"
        )
    raise OptionError(
        f"{run.record}: the run's junction {what}; give --junction (Python: junction=) with "
        "the junction's YAML or its folder"
    )


_TYPE_WORDS = {"float": "a number", "int": "a whole number", "bool": "true or false",
               "str": "text"}  # fmt: skip


def _in_words(hint: str) -> str:
    """A type annotation as a user reads it: ``float | None`` -> ``a number``,
    ``typing.Literal['a', 'b']`` -> ``one of 'a', 'b'``; anything else without its module."""
    hint = re.sub(r"\b[A-Za-z_]\w*\.", "", hint)  # typing.Literal: Literal
    hint = re.sub(r"\s*\|\s*None\b|\bNone\s*\|\s*", "", hint)  # None means "leave it out"
    literal = re.fullmatch(r"Literal\[(.*)\]", hint)
    if literal:
        return f"one of {literal.group(1)}"
    return _TYPE_WORDS.get(hint, hint)


def check_env_options(options: Mapping[str, Any], flag: str = "--env") -> None:
    """Check ``make_env`` options given as ``flag KEY=VALUE`` before anything is made: no key
    ``train`` sets with its own option (:data:`TRAIN_FLAGS`), and each value of the type
    :class:`~intergreen.junctions.env.JunctionEnv` declares for it (pydantic's lax reading:
    ``"300"`` is a number, ``"abc"`` is not), and ``duration`` > 0 and at most
    ``common.MAX_SIM_SECONDS``. Unknown keys and the other values out of range are
    ``make_env``'s own checks.

    Raises:
        OptionError: one line naming ``flag KEY``, e.g. ``--env duration='abc': expected
            float | None (input should be a valid number, ...)``, or ``--env reward: set by
            --reward, not --env``.
    """
    import typing

    from pydantic import ConfigDict, TypeAdapter, ValidationError

    from intergreen.junctions.env import JunctionEnv

    for key in options:
        if key in TRAIN_FLAGS:
            raise OptionError(
                f"{flag} {key}: set by {TRAIN_FLAGS[key]}, not {flag}; use {TRAIN_FLAGS[key]}"
            )
    hints = typing.get_type_hints(JunctionEnv.__init__)
    for key, value in options.items():
        if key not in hints or key == "return":
            continue  # an unknown key: make_env names the valid ones
        hint = hints[key]
        try:
            adapter = TypeAdapter(hint, config=ConfigDict(arbitrary_types_allowed=True))
            adapter.validate_python(value)
        except ValidationError as e:
            what = _in_words(hint.__name__ if isinstance(hint, type) else str(hint))
            why = e.errors()[0]["msg"]
            raise OptionError(
                f"{flag} {key}={value!r}: expected {what} ({why[:1].lower()}{why[1:]})"
            ) from None
    duration = options.get("duration")
    if duration is not None:
        if not duration > 0:
            raise OptionError(
                f"{flag} duration={duration!r}: expected simulated seconds > 0, e.g. "
                f"{flag} duration=3600"
            )
        check_sim_seconds(duration, f"{flag} duration")


def policy_run_env(policy: Any) -> RunEnv | None:
    """What a controller asks of its env: a trained agent's recorded run (``run_env``), a
    baseline's own options (``env_kwargs``, e.g. the ``program`` baseline's
    ``signals="program"``), else None."""
    run_env = getattr(policy, "run_env", None)
    if run_env is not None:
        return run_env
    options = dict(getattr(policy, "env_kwargs", None) or {})
    return RunEnv(options=options) if options else None


def merge_env_options(recorded: Mapping[str, Any], caller: Mapping[str, Any]) -> dict[str, Any]:
    """The recorded options updated by the caller's that are not None (see the module
    docstring)."""
    return {**recorded, **{k: v for k, v in caller.items() if v is not None}}


def resolve_junction(run: RunEnv | None, junction: str | Path | None) -> str | Path:
    """The caller's junction when given, else the run's (:func:`recorded_junction`; baselines:
    gm_a56)."""
    if junction is not None:
        return junction
    return recorded_junction(run) if run is not None else DEFAULT_JUNCTION


def make_run_env(
    run: RunEnv | None,
    junction: str | Path | None = None,
    demand: Any = None,
    reward: Any = None,
    seed: int | None = None,
    **options: Any,
) -> JunctionEnv:
    """The env a controller runs in: ``run``'s recorded junction and options (None for a
    baseline) merged with the caller's (see the module docstring). Raises what ``make_env``
    raises for a bad junction, demand, reward or option."""
    from intergreen.junctions.env import make_env

    recorded = dict(run.options) if run is not None else {}
    merged = merge_env_options(recorded, options)
    return make_env(resolve_junction(run, junction), demand, reward, seed=seed, **merged)


def common_episode(
    runs: Mapping[str, RunEnv | None], given: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The episode options (:data:`EPISODE_OPTIONS`) every controller of one evaluation plays
    under, so that all of them meet the same episodes: each the caller's where ``given``
    (not None), else the one the trained runs recorded when they agree (left out where none
    recorded it: ``make_env``'s default, e.g. the demand's length).

    Args:
        runs: controller label -> what its run recorded (None for a baseline: it records none).
        given: the caller's options, e.g. ``{"duration": 300}``; None values are not given.

    Raises:
        OptionError: runs that recorded different values of an option the caller did not give
            (their episodes differ), naming the runs, their values and the option that sets one.
    """
    given = {k: v for k, v in (given or {}).items() if v is not None}
    trained = {label: run for label, run in runs.items() if run is not None}
    out: dict[str, Any] = {}
    for name in EPISODE_OPTIONS:
        if name in given:
            out[name] = given[name]
            continue
        values = {label: run.options.get(name) for label, run in trained.items()}
        if len({repr(v) for v in values.values()}) > 1:
            shown = ", ".join(
                f"{label}: {'the default' if v is None else f'{name}={v}'}"
                for label, v in values.items()
            )
            flag = EPISODE_FLAGS.get(name)
            fix = f"give {flag} to play one for all" if flag else "evaluate them separately"
            raise OptionError(
                f"the runs were trained on different episodes ({shown}), and every controller "
                f"of one evaluation plays the same; {fix}"
            )
        value = next(iter(values.values()), None)
        if value is not None:
            out[name] = value
    return out


def common_junction(runs: list[RunEnv], junction: str | Path | None) -> str | Path:
    """The one junction several controllers are evaluated on (paired episodes need one):
    the caller's, else the runs' when they agree; OptionError when they do not."""
    if junction is not None:
        return junction
    names = sorted({recorded_junction(r) for r in runs})
    if len(names) > 1:
        raise OptionError(
            f"the runs were trained on different junctions ({', '.join(names)}); name the one "
            "to evaluate on (--junction)"
        )
    return names[0] if names else DEFAULT_JUNCTION
