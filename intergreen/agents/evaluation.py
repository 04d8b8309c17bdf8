"""Evaluate controllers (trained agents and baselines) on held-out seeds.

Every controller meets the same episodes: episode ``i`` at every demand level is reset with
``intergreen.seeds.episode_seeds(role, n)[i]``, on one junction and with one set of episode
options (length, pedestrians, sensor noise: the caller's, else the trained runs' own,
``intergreen.agents.runenv.common_episode``), baselines included, so comparisons are paired.
The role is ``test`` (reports, ``intergreen evaluate``) unless a selection asks for
``validation`` (tuning trials); training uses neither. A trained agent runs in its run's
recorded junction and environment options merged with the caller's
(intergreen.agents.runenv). The study's protocol is 100 episodes per demand level
(``episodes=STUDY_EPISODES``).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from intergreen.agents.runenv import (
    RunEnv,
    common_episode,
    common_junction,
    make_run_env,
    policy_run_env,
    recorded_env,
)
from intergreen.common import fmt_spread
from intergreen.errors import OptionError
from intergreen.rewards.registry import RewardError, modules_not_loaded, workers_cannot_see
from intergreen.seeds import episode_seeds
from intergreen.workers import CrashSafePool

STUDY_EPISODES = 100
#: The demand levels evaluated by default (where the junction has them).
LEVELS = ("low", "medium", "high")


def evaluation_seeds(episodes: int, offset: int = 0, role: str = "test") -> list[int]:
    """Reset seeds of evaluation episodes ``offset .. offset + episodes - 1`` of ``role``
    (SeedError for a bad role or fewer than one episode)."""
    return episode_seeds(role, episodes, start=offset)


def _controller(controller: Any, checkpoint: str | None = None) -> tuple[Any, RunEnv | None]:
    """The Policy and, for a trained agent, what its run recorded about its env."""
    from intergreen.junctions.baselines import is_baseline, make_baseline

    if not isinstance(controller, str | Path):
        return controller, policy_run_env(controller)
    name = str(controller)
    if is_baseline(name):
        policy = make_baseline(name)  # the program baseline asks for signals="program"
        return policy, policy_run_env(policy)
    from intergreen.agents.policy import load_policy

    policy = load_policy(name, checkpoint)
    return policy, policy.run_env


def _recorded_env(controller: Any, checkpoint: str | None = None) -> RunEnv | None:
    """What a controller's run recorded about its env, without loading its model (the model
    is chosen here so a bad ``checkpoint`` fails before any episode runs)."""
    from intergreen.agents.policy import choose_model
    from intergreen.junctions.baselines import controller_not_found, is_baseline

    if not isinstance(controller, str | Path):
        return getattr(controller, "run_env", None)
    if is_baseline(str(controller)):
        return None
    if not Path(controller).exists():  # a typo of a baseline, or a missing run folder
        raise controller_not_found(str(controller))
    return recorded_env(choose_model(controller, checkpoint).run_dir)


def default_demands(
    controllers: Sequence[Any], junction: str | Path | None = None, checkpoint: str | None = None
) -> tuple[list[str], str | None]:
    """The demands :func:`evaluate` plays when none are named, and a note saying why when they
    are not the levels: ``low``, ``medium``, ``high`` where the junction has them (gm_a56),
    else the trained runs' training demands (an imported network: ``routes``), else the
    junction's default demand. Raises what :func:`evaluate` raises for a bad controller or
    junction, SpecError for a junction without any demand."""
    from intergreen.junctions.catalog import resolve_junction
    from intergreen.junctions.demand import named_or_default

    runs = [r for r in (_recorded_env(c, checkpoint) for c in controllers) if r is not None]
    spec = resolve_junction(common_junction(runs, junction))
    fallback = named_or_default(spec, LEVELS)
    if fallback == list(LEVELS):
        return fallback, None
    lacking = f"junction {spec.name} has no levels {', '.join(LEVELS)}"
    trained: list[str] = []
    for r in runs:
        for d in [r.demand] if isinstance(r.demand, str) else r.demand or []:
            trained += [d] if d not in trained else []
    if trained:
        return trained, f"the training demand of the runs; {lacking}"
    return fallback, f"the junction's default demand; {lacking}"


def check_evaluation(
    controllers: Sequence[Any],
    junction: str | Path | None = None,
    demands: Sequence[str] | None = None,
    reward: Any = None,
    duration: float | None = None,
    checkpoint: str | None = None,
    episode_options: Mapping[str, Any] | None = None,
) -> tuple[str | Path, list[str], dict[str, Any]]:
    """What :func:`evaluate` plays, checked before any episode runs: the junction, the demands
    and the episode options every controller shares
    (:func:`intergreen.agents.runenv.common_episode`; empty where each demand's own length
    applies). Arguments as :func:`evaluate`'s.

    Raises:
        OptionError: an unknown controller or ``checkpoint``, no demand, runs trained on
            different junctions or episodes (see :func:`evaluate`), a baseline the junction
            cannot run (``program`` where it has no signal programme of its own: gm_a56), a
            controller given twice or two that results would label alike (``a/dqn`` and
            ``b/dqn``).
        RunDirError: a run folder without a readable model; an agent trained on another
            junction's approach lanes (:func:`intergreen.agents.policy.junction_misfit`).
        SpecError, RewardError, ParamFileError: a demand or reward the junction's env refuses
            (without ``reward``: each trained agent's own, its message naming the run); a tuned
            baseline without its tuned file for the junction.
    """
    from intergreen.agents.policy import junction_misfit
    from intergreen.agents.rundir import RunDirError
    from intergreen.junctions.baselines import is_baseline
    from intergreen.junctions.catalog import resolve_junction
    from intergreen.junctions.env import make_env

    runs = {_run_label(c): _recorded_env(c, checkpoint) for c in controllers}
    labels = [(_task_label(c), _run_label(c)) for c in controllers]
    for i, (label, given) in enumerate(labels):  # results rows are told apart by label
        other = next((o for lb, o in labels[:i] if lb == label), None)
        if other == given:
            raise OptionError(f"controller {given} is given twice: give each controller once")
        if other is not None:
            raise OptionError(
                f"controllers {other} and {given} would both be shown as {label!r}: keep two "
                "run folders or parameter files in folders of different names"
            )
    junction = common_junction([r for r in runs.values() if r is not None], junction)
    episode = common_episode(runs, {**(episode_options or {}), "duration": duration})
    if demands is None:
        demands = default_demands(controllers, junction, checkpoint)[0]
    demands = [demands] if isinstance(demands, str) else list(demands)  # "low": one level
    if not demands:
        raise OptionError("--demands: no demand named; give one or more, e.g. low,medium,high")
    spec = resolve_junction(junction)
    for label, run_env in runs.items():  # an agent on another junction's lanes: before any line
        if (misfit := junction_misfit(run_env, spec, label)) is not None:
            raise RunDirError(misfit)
    for c in controllers:
        if isinstance(c, str | Path) and is_baseline(str(c)):
            check_baseline(str(c), spec, demands[0], reward, episode)
    for d in demands:  # the env every controller meets (its reward, when one is given)
        make_env(spec, d, reward, seed=0, **episode).close()
    if reward is None:  # each agent's own reward (a user's needs its --reward-module)
        for c in controllers:
            _check_own_reward(c, spec, demands[0], episode, checkpoint)
    return junction, demands, episode


def check_baseline(
    name: str,
    spec: Any,
    demand: str,
    reward: Any = None,
    episode: Mapping[str, Any] | None = None,
) -> None:
    """Whether the baseline ``name`` can run on the junction ``spec`` (a JunctionSpec), checked
    before any episode (by :func:`check_evaluation`, and by a compare grid for its
    ``baselines``): its name and parameters, a tuned one's file for the junction
    (``NAME:tuned``; a parameter file's path: that it was tuned on the junction), and the env
    it asks for itself (the ``program`` baseline's ``signals="program"``), made on ``demand``
    with ``reward`` and the ``episode`` options (``make_env``'s keyword arguments, e.g.
    ``{"duration": 60}``) and closed: SUMO does not start.

    Raises:
        OptionError: an unknown baseline or parameter; ``program`` on a junction without a
            signal programme of its own (gm_a56), the env's own one line.
        ParamFileError: a tuned baseline without its tuned file for the junction; an
            unreadable parameter file or one tuned on another junction.
        SpecError, RewardError: a demand or reward that env refuses.
    """
    from intergreen.junctions.baselines import baseline_record, make_baseline
    from intergreen.junctions.env import make_env

    policy = make_baseline(name)
    record = baseline_record(name, spec)  # a tuned one: its junction's file
    _check_greens(name, {**vars(policy), **(record.get("params") or {})}, spec)
    own = policy_run_env(policy)  # the program baseline's signals="program"
    if own is not None:  # refused where the junction has no programme (gm_a56)
        make_env(spec, demand, reward, seed=0, **(episode or {}), **own.options).close()


def _check_greens(name: str, params: Mapping[str, Any], spec: Any) -> None:
    """Refuse, before any episode, a baseline's maximum green or fixed-time green
    (``params``: its attributes and a parameter file's ``params``) shorter than a stage's
    minimum green (a file made before the tuner knew the minimum): the baseline refuses it
    at its first reset, but without naming ``name``, the file."""
    from intergreen.junctions.stage_policy import below_green_floor

    for attr, what in (("max_green", "max_green"), ("given", "fixed-time greens"),
                       ("greens", "fixed-time greens")):  # fmt: skip
        value = params.get(attr)
        if isinstance(value, bool) or not isinstance(value, int | float | dict) or not value:
            continue
        greens = value if isinstance(value, dict) else dict.fromkeys(spec.action_stages, value)
        for stage, seconds in greens.items():
            if isinstance(seconds, int | float) and not isinstance(seconds, bool):
                short = below_green_floor(spec, str(stage), float(seconds), what)
                if short is not None:
                    raise OptionError(f"controller {name}: {short}")


def _check_own_reward(
    controller: Any, spec: Any, demand: str, episode: Mapping[str, Any], checkpoint: str | None
) -> None:
    """RewardError, naming the run, when a trained agent's own reward (the one it was trained
    on, which evaluate sums without ``reward``) cannot be made, e.g. a user's reward whose
    module was not loaded; a UserWarning when the reward's version here is not the one the
    run was trained under (its ``reward_*`` column then sums this version's formula)."""
    from intergreen.agents.policy import choose_model
    from intergreen.agents.rundir import load_run_config, read_run_record
    from intergreen.junctions.baselines import is_baseline
    from intergreen.junctions.env import make_env
    from intergreen.rewards.registry import RewardError, reward_version

    recorded, modules = None, []
    if isinstance(controller, str | Path):
        if is_baseline(str(controller)):
            return
        run_dir = choose_model(controller, checkpoint).run_dir
        if not (Path(run_dir) / "config.json").exists():
            return  # a bare model: no reward of its own
        own = load_run_config(run_dir).reward
        record = read_run_record(run_dir)
        recorded, modules = record.get("reward_version"), record.get("reward_modules") or []
    else:
        own = getattr(controller, "reward", None)
    if own is None:
        return
    try:
        make_env(spec, demand, own, seed=0, **episode).close()
    except RewardError as e:
        missing = modules_not_loaded(modules) if "unknown reward" in str(e) else []
        if missing:  # the run recorded where it came from, and that is not loaded here
            flags = " ".join(f"--reward-module {m}" for m in missing)
            name = own if isinstance(own, str) else own.get("name")
            raise RewardError(
                f"{_run_label(controller)}: its training reward {name!r} is registered by the "
                f"reward module(s) it was trained with: give intergreen {flags} before the "
                "command"
            ) from None
        raise RewardError(f"{_run_label(controller)}: its training reward: {e}") from None
    here = reward_version(own)
    if recorded is not None and str(recorded) != here:
        name = own if isinstance(own, str) else own.get("name")
        warnings.warn(
            f"{_run_label(controller)} was trained under reward {name} version {recorded}, "
            f"which is version {here} here: its reward_{name} column sums version {here}'s "
            "formula (the waits and the other traffic metrics do not depend on the reward)",
            UserWarning,
            stacklevel=2,
        )


def _run(task: tuple[Any, ...]) -> dict[str, Any]:
    from intergreen.agents.torch_setup import configure_torch

    configure_torch()
    from intergreen.junctions.rollout import run_episode
    from intergreen.junctions.simulation import simulation_factory

    (controller, junction, demand, seed, episode, reward, detail, timeline, checkpoint,
     check_rules) = task  # fmt: skip
    policy, run_env = _controller(controller, checkpoint)
    if reward is None:  # an agent's own reward; the env's default (queue) for a baseline
        reward = getattr(policy, "reward", None)
    factory = simulation_factory(trace=detail or timeline is not None, emissions=detail)
    options = {"check_rules": True} if check_rules else {}
    # the episode options every controller shares (a baseline records none of its own)
    env = make_run_env(run_env, junction, demand, reward, seed=seed, simulation_factory=factory,
                       **episode, **options)  # fmt: skip
    result = run_episode(env, policy, seed)
    row = result.row()
    row["controller"] = _label(controller, policy)
    row["demand"] = demand
    if timeline is not None and result.trace is not None:
        from intergreen.junctions.timeline import write_timeline

        title = f"{env.spec_.name} | demand {demand} | {row['controller']} | seed {seed}"
        write_timeline(result.trace, env.spec_, env.network.links, Path(timeline), title)
    return row


def _label(controller: Any, policy: Any) -> str:
    """A results row's controller: a run's label, a baseline's (a parameter file's: the
    baseline and the file), else the policy's name."""
    if isinstance(controller, str | Path) and Path(controller).exists():
        return _task_label(controller)
    return getattr(policy, "name", str(controller))


def evaluate(
    controllers: Any | Sequence[Any],
    junction: str | Path | None = None,
    demands: Sequence[str] | None = None,
    episodes: int = 20,
    seeds: Sequence[int] | None = None,
    *,
    duration: float | None = None,
    reward: Any = None,
    workers: int = 1,
    role: str = "test",
    detail: bool = True,
    timelines: Path | None = None,
    timeline_episodes: int = 1,
    checkpoint: str | None = None,
    check_rules: bool = False,
    progress: Callable[[int, int], None] | None = None,
    episode_options: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Run each controller on the same held-out episodes; one row per episode.

    Every controller meets the same episodes at every demand level (paired comparisons): the
    ``role`` stream of :mod:`intergreen.seeds` (``test``; ``validation`` for selections), which
    no training episode shares. A trained agent runs in its run's recorded junction and options,
    the ones given here winning (:mod:`intergreen.agents.runenv`).

    Args:
        controllers: run folders, model zips, baseline names (``"vehicle-actuated"``, ...) or
            Policy objects (objects only with ``workers=1``); one or a sequence.
        junction: a shipped junction name or a junction YAML path (default: the trained
            agents' junction when they agree, else gm_a56).
        demands: demand levels or totals (e.g. ``"medium"``: 2210 veh/h on gm_a56); None:
            :func:`default_demands` (low, medium, high where the junction has them).
        episodes: episodes per demand level (>= 1); the study's protocol is 100.
        seeds: the episodes' reset seeds (default: ``episodes`` episodes of ``role``).
        duration: simulated seconds per episode, for every controller (default: the trained
            runs' recorded one, baselines included, else the demand's, 1800 s). The other
            episode options (``pedestrians``, ``sensor_noise``) are the runs' too
            (:func:`intergreen.agents.runenv.common_episode`), or ``episode_options``'.
        episode_options: ``pedestrians`` and ``sensor_noise`` for every controller (a grid
            passes its training episodes', so that its baselines meet them); None: the runs'.
        reward: the reward summed per episode, in column ``reward_<name>``; None: an agent's
            own training reward, the registry's ``queue`` for a baseline.
        workers: worker processes (one SUMO simulation each).
        role: the seed stream, ``"test"`` (reports) or ``"validation"`` (selections).
        detail: also per-arm queues and emissions (SUMO's emissions device; about a third
            more SUMO time).
        timelines: a folder for a timeline plot (PNG and JSON,
            ``<controller>-<demand>-<seed>``) of the first ``timeline_episodes`` episodes of
            every controller and demand; None for none.
        timeline_episodes: how many episodes per controller and demand get a timeline.
        progress: called as ``progress(done, total)`` after every episode (``total``:
            controllers x demands x episodes), e.g. to move a progress bar.
        checkpoint: the model a run folder gives: ``"best"`` (best by greedy validation
            score), ``"final"``, or None (best when the run has one, else final;
            :func:`intergreen.agents.policy.choose_model`).
        check_rules: every episode's env checks the signal states SUMO shows
            (``JunctionEnv(check_rules=True)``).

    Returns:
        A DataFrame with one row per (controller, demand, episode): ``controller``,
        ``demand``, ``seed`` and SUMO's ground-truth metrics (``avg_waiting_time`` and
        ``avg_delay`` in s per vehicle, ``throughput`` in vehicles, queues, ``wait_p95``,
        per arm ``arm_wait_<arm>`` ..., emissions ``co2_kg`` ...; units:
        ``intergreen.junctions.metrics.UNITS``) and ``reward_<name>``.

    Raises:
        SeedError: ``episodes`` < 1 or an unknown role.
        SpecError, RewardError, ParamFileError: a demand or reward the env refuses, a tuned
            baseline without its file (:func:`check_evaluation`: all before any episode).
        OptionError: an unknown baseline or ``checkpoint``, runs trained on different
            junctions and no ``junction`` given, or on different episodes (e.g. durations)
            and no ``duration`` given.
        RunDirError: a run folder without a readable model (or without a best one when
            ``checkpoint="best"``).
        RuleViolation: with ``check_rules``, the first signal rule broken.
    """
    if isinstance(controllers, str | Path) or not isinstance(controllers, Sequence):
        controllers = [controllers]
    junction, demands, episode = check_evaluation(
        controllers, junction, demands, reward, duration, checkpoint, episode_options
    )
    seeds = list(seeds) if seeds is not None else evaluation_seeds(episodes, role=role)
    if timelines is not None:
        Path(timelines).mkdir(parents=True, exist_ok=True)

    def timeline(c: Any, d: str, i: int, s: int) -> str | None:
        if timelines is None or i >= timeline_episodes:
            return None
        name = re.sub(r"[^A-Za-z0-9_.+-]+", "_", f"{_task_label(c)}-{d}-{s}")
        return str(Path(timelines) / f"{name}.png")

    tasks = [
        (c, junction, d, s, episode, reward, detail, timeline(c, d, i, s), checkpoint, check_rules)
        for c in controllers
        for d in demands
        for i, s in enumerate(seeds)
    ]
    if workers == 1:
        rows: list[dict[str, Any]] = []
        for task in tasks:
            rows.append(_run(task))
            if progress is not None:
                progress(len(rows), len(tasks))
        return pd.DataFrame(rows)
    unseen = workers_cannot_see(reward) if reward is not None else None
    if unseen is not None:  # each worker would fail with "unknown reward"
        raise RewardError(unseen)
    rows = [{} for _ in tasks]
    done = 0
    with CrashSafePool(workers) as pool:  # an episode whose worker dies runs again, alone
        for i, task in enumerate(tasks):
            pool.submit(i, _run, task)
        while pool.pending:
            for outcome in pool.wait():
                if outcome.error is not None:
                    raise outcome.error
                rows[int(outcome.tag)] = outcome.result  # type: ignore[call-overload]
                done += 1
                if progress is not None:
                    progress(done, len(tasks))
    return pd.DataFrame(rows)


def _run_label(controller: Any) -> str:
    """A controller as the user gave it (a run folder's path, a baseline's name)."""
    if isinstance(controller, str | Path):
        return str(controller)
    return _task_label(controller)


def _task_label(controller: Any) -> str:
    if isinstance(controller, str | Path):
        from intergreen.agents.policy import model_label
        from intergreen.junctions.baselines import baseline_label, is_baseline

        name = str(controller)
        if not Path(controller).exists():
            return name
        return baseline_label(name) if is_baseline(name) else model_label(controller)
    return str(getattr(controller, "name", type(controller).__name__))


def summary_table(results: pd.DataFrame, metric: str = "avg_waiting_time") -> pd.DataFrame:
    """mean ± std of a metric: rows = controllers, columns = demand levels (``± n/a`` for a
    single episode, whose spread is unknown)."""
    grouped = results.groupby(["controller", "demand"], sort=False)[metric]
    stats = grouped.agg(["mean", "std", "count"]).reset_index()
    stats["cell"] = [
        fmt_spread(m, s, n)
        for m, s, n in zip(stats["mean"], stats["std"], stats["count"], strict=True)
    ]
    order = list(dict.fromkeys(results["demand"]))
    table = stats.pivot(index="controller", columns="demand", values="cell")[order]
    return table.loc[list(dict.fromkeys(results["controller"]))]
