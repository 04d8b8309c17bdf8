"""`intergreen tune`: CARBS over an agent's hyperparameters (see :mod:`intergreen.tuning.loop`)
or a baseline's parameters (:mod:`intergreen.tuning.baseline_tune`).

Every check runs before the ``--out`` folder is made, so a refused command leaves none. An
option that only an agent tune uses (:data:`AGENT_ONLY`) is refused with ``--controller``.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from intergreen.agents.config import MAX_TRAIN_TIMESTEPS
from intergreen.cli_common import option_given, parse_params, split_list
from intergreen.common import check_sim_seconds, first_repeat
from intergreen.errors import Interrupted, OptionError
from intergreen.junctions.baselines import TUNABLE
from intergreen.rewards.option import REWARD_HELP, parse_reward

if TYPE_CHECKING:
    from intergreen.tuning.loop import TuneSpec

#: Options of ``tune`` that only ``--agent`` uses (a baseline tune trains nothing), by their
#: parameter names; every other option applies to both.
AGENT_ONLY = {
    "reward": "--reward",
    "cost": "--cost",
    "demand": "--demand",
    "train_seeds": "--train-seeds",
    "timesteps": "--timesteps",
    "min_timesteps": "--min-timesteps",
    "max_timesteps": "--max-timesteps",
    "params": "--params",
    "preset": "--preset",
    "hp": "--hp",
}

#: Printed lines are never wrapped: a path or a command in them stays whole to copy, also when
#: the output goes to a pipe or a file (rich would wrap at 80 columns there).
console = Console(markup=False, highlight=False, soft_wrap=True)


def tune_command(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="Tune folder (re-run the command to resume)")],
    agent: Annotated[str | None, typer.Option(help="dqn or ppo")] = None,
    controller: Annotated[
        str | None,
        typer.Option(help=f"Tune a baseline instead: {', '.join(TUNABLE)}"),
    ] = None,
    budget: Annotated[
        str, typer.Option(help="Wall clock (4h, 30m, 90s, 1h30m) or total cost (a number)")
    ] = "4h",
    workers: Annotated[int, typer.Option(min=1, max=64, help="Trials at once")] = 2,
    reward: Annotated[
        str, typer.Option(help=f"Training reward (--agent only): {REWARD_HELP}")
    ] = "average_speed",
    cost: Annotated[
        str, typer.Option(help="steps (training env steps) or seconds (--agent only)")
    ] = "steps",
    junction: Annotated[str, typer.Option()] = "gm_a56",
    demand: Annotated[
        str | None,
        typer.Option(
            help="Training demand: mixed, a level, or a comma list (default: mixed; on a "
            "junction without demand.yaml its own demand, e.g. an imported network's routes; "
            "--agent only)"
        ),
    ] = None,
    eval_demands: Annotated[
        str | None,
        typer.Option(
            help="Evaluation demand levels (comma list; agents medium, baselines low, medium, "
            "high; on a junction without those levels its own demand)"
        ),
    ] = None,
    eval_episodes: Annotated[int, typer.Option(min=1, help="Held-out episodes per demand")] = 3,
    train_seeds: Annotated[
        int,
        typer.Option(
            min=1, help="Agents trained per trial (their mean is the output; --agent only)"
        ),
    ] = 1,
    eval_seeds: Annotated[
        str,
        typer.Option(help="Seed stream trials are scored on: validation (test is for reports)"),
    ] = "validation",
    eval_duration: Annotated[
        float | None, typer.Option(min=1, help="Simulated s per evaluation episode")
    ] = None,
    timesteps: Annotated[
        int,
        typer.Option(
            min=2, help="Centre of the training-timesteps (cost) dimension (--agent only)"
        ),
    ] = 50_000,
    min_timesteps: Annotated[int, typer.Option(min=1, help="--agent only")] = 2_000,
    max_timesteps: Annotated[
        int, typer.Option(min=3, max=MAX_TRAIN_TIMESTEPS, help="--agent only")
    ] = 2_000_000,
    params: Annotated[
        str | None,
        typer.Option(help="Tune only these hyperparameters (comma list; --agent only)"),
    ] = None,
    preset: Annotated[str | None, typer.Option(help="Preset to centre on (--agent only)")] = None,
    hp: Annotated[
        list[str] | None,
        typer.Option(help="Hyperparameter KEY=VALUE: fixed or a new centre (--agent only)"),
    ] = None,
    max_trials: Annotated[int | None, typer.Option(min=1, help="Stop after this many")] = None,
    seed: Annotated[int, typer.Option(min=0, max=900_000)] = 0,
    progress: Annotated[bool, typer.Option(help="Progress bar and a line per trial")] = True,
) -> None:
    """Tune an agent's hyperparameters, or a baseline's parameters, with CARBS (output: waiting
    time on validation seeds; cost: training, or simulated episodes for a baseline)."""
    from intergreen.agents.tuned_params import read_agent_tuned
    from intergreen.tuning.loop import TuneError, TuneSpec, check_eval_seeds, parse_budget, tune
    from intergreen.tuning.report import budget_summary, cost_unit
    from intergreen.tuning.trials import values_text

    # before anything slow: a bad budget is a one-line error in the cost unit of the tune
    parsed = parse_budget(budget, baseline=controller is not None and agent is None)
    if agent is not None and controller is not None:
        raise TuneError("give --agent (dqn, ppo) or --controller (a baseline), not both")
    if agent is None and controller is None:
        raise TuneError("give one of --agent (dqn, ppo) or --controller (a baseline)")
    check_eval_seeds(eval_seeds)
    if eval_duration is not None:
        check_sim_seconds(eval_duration, "--eval-duration")
    if eval_demands is not None:
        _check_demand_list(eval_demands, "--eval-demands")
    if controller is not None:
        given = [flag for name, flag in AGENT_ONLY.items() if option_given(ctx, name)]
        if given:
            raise TuneError(
                f"{', '.join(given)}: {'applies' if len(given) == 1 else 'apply'} only to "
                "--agent (a --controller tune trains nothing); remove "
                f"{'it' if len(given) == 1 else 'them'}"
            )
        demands = eval_demands or _default_demands(junction, "low,medium,high")
        try:
            _tune_baseline(controller, out, parsed, workers, junction, demands, eval_episodes,
                           eval_duration, max_trials, seed, progress)  # fmt: skip
        except KeyboardInterrupt:
            raise Interrupted(_kept(out, baseline=True)) from None
        return
    eval_demands = eval_demands or _default_demands(junction, "medium")
    if demand is None:
        from intergreen.junctions.catalog import resolve_junction
        from intergreen.junctions.demand import default_training_demand

        demand = default_training_demand(resolve_junction(junction))
    spec = TuneSpec(
        agent=agent,
        reward=parse_reward(reward),
        junction=junction,
        train_demand=split_list(demand) if "," in demand else demand,
        eval_demands=tuple(split_list(eval_demands)),
        eval_episodes=eval_episodes,
        train_seeds=train_seeds,
        eval_seeds=eval_seeds,
        eval_duration=eval_duration,
        cost=cost,
        preset=preset,
        hyperparams=parse_params(hp, "--hp"),
        params=tuple(split_list(params)) if params else None,
        timesteps=(timesteps, min_timesteps, max_timesteps),
        seed=seed,
    )
    try:
        result = tune(spec, parsed, out, workers, max_trials=max_trials, progress=progress)
    except KeyboardInterrupt:
        raise Interrupted(_kept(out, baseline=False)) from None
    best = result.best
    unit = cost_unit(spec.cost)
    cost = sum(t.get("cost", 0.0) for t in result.trials)
    console.print(
        f"{_trials_in(result.trials, out, result.ran)}; "
        + budget_summary(result.sessions, result.trials, result.wall_s, cost, unit)
    )
    if best is not None:
        console.print(
            f"best: {best['id']} {best['output']:.2f} s at cost {best['cost']:,.0f}: "
            + values_text(best)
        )
        tuned = read_agent_tuned(out / "tuned.json")
        if not tuned.changed():  # the defaults again (float rounding aside)
            console.print(
                f"{best['id']} ran the defaults' hyperparameters (no value differs beyond float "
                "rounding): its gap to the defaults' score is training and evaluation noise, "
                "not a tuning result",
                markup=False,
            )
        console.print(
            f"tuned hyperparameters: {out / 'tuned.json'} (in a grid, beside the tune's own "
            f"defaults: `agents: {{{spec.agent}: {_defaults_arm(spec)}, {spec.agent}_tuned: "
            f"{{tuned: {out / 'tuned.json'}}}}}`, on other seeds than the tune's)",
            markup=False,
        )
    if result.report is not None:
        console.print(f"report: {result.report}")


def _kept(out: Path, baseline: bool) -> str:
    """What an interrupted tune kept and how to continue it."""
    if baseline:
        from intergreen.tuning.baseline_tune import load_trials
    else:
        from intergreen.tuning.trials import load_trials
    n = len(load_trials(out))
    return (
        f"{n} finished trial{'s' if n != 1 else ''} kept in {out}; run the same command again "
        "(the same --out and options) to continue: finished trials are not repeated"
    )


def _defaults_arm(spec: TuneSpec) -> str:
    """The grid spec of the agent a tune started from (its trial t0000): the tune's preset and
    ``--hp`` values, which the tuned agent's ``tuned:`` carries too, so that the two arms
    differ only in what the tune chose; ``{}`` for the plain preset."""
    arm: dict[str, Any] = {}
    if spec.preset is not None:
        arm["preset"] = spec.preset
    if spec.hyperparams:
        arm["hyperparams"] = spec.hyperparams
    return json.dumps(arm, separators=(", ", ": ")) if arm else "{}"


def _check_demand_list(text: str, option: str) -> None:
    """Refuse a demand list that names no level (``--eval-demands ''`` is not the default) or
    names one twice (its episodes would be simulated twice and count double).

    Raises:
        OptionError: naming ``option``, the value and the fix.
    """
    levels = split_list(text)
    if not levels:
        raise OptionError(
            f"{option} {text!r}: no demand level named; give levels separated by commas, e.g. "
            f"{option} medium, or leave {option} out for the default"
        )
    twice = first_repeat(levels)
    if twice is not None:
        raise OptionError(
            f"{option} {text!r}: names {twice!r} more than once (its episodes would be "
            f"simulated twice); give each level once, e.g. {option} "
            f"{','.join(dict.fromkeys(levels))}"
        )


def _trials_in(trials: list[Any], out: Path, ran: list[str]) -> str:
    """``'3 trials in tune/va (1 run now)'``, ``'1 trial in ...'``."""
    return f"{len(trials)} trial{'s' * (len(trials) != 1)} in {out} ({len(ran)} run now)"


def _default_demands(junction: str, levels: str) -> str:
    """``levels`` where the junction has them all, else its own default demand (an imported
    network's ``routes``; junctions.demand.named_or_default)."""
    from intergreen.junctions.catalog import resolve_junction
    from intergreen.junctions.demand import named_or_default

    return ",".join(named_or_default(resolve_junction(junction), split_list(levels)))


def _tune_baseline(
    controller: str,
    out: Path,
    budget: Any,
    workers: int,
    junction: str,
    demands: str,
    episodes: int,
    duration: float | None,
    max_trials: int | None,
    seed: int,
    progress: bool,
) -> None:
    """``tune --controller``: see :mod:`intergreen.tuning.baseline_tune`."""
    from intergreen.junctions.baseline_params import read_param_file
    from intergreen.tuning.baseline_tune import BaselineTuneSpec, tune_baseline
    from intergreen.tuning.report import budget_summary

    spec = BaselineTuneSpec(
        controller=controller,
        junction=junction,
        demands=tuple(split_list(demands)),
        episodes=episodes,
        duration=duration,
        seed=seed,
    )
    log = console.print if progress else None
    result = tune_baseline(spec, budget, out, workers, max_trials=max_trials, log=log)
    best = result.best
    episodes_run = sum(t.get("episodes", 0) for t in result.trials)
    console.print(
        f"{_trials_in(result.trials, out, result.ran)}; "
        + budget_summary(result.sessions, result.trials, result.wall_s, episodes_run, "episodes")
    )
    if best is not None:
        default = read_param_file(result.tuned_file).doc["validation"].get("default_wait_s")
        versus = f" (the defaults: {default:.2f} s)" if default is not None else ""
        console.print(f"best: {best['id']} {best['output']:.2f} s on validation seeds{versus}")
        console.print(f"tuned parameters: {result.tuned_file}")
        # the junction too: the file's parameters are this junction's (simulate's default
        # junction is gm_a56, whatever the tune ran on), and the episodes it was tuned on
        command = ["intergreen", "simulate", "--controller", str(result.tuned_file),
                   "--junction", spec.junction]  # fmt: skip
        if len(spec.demands) == 1:
            command += ["--demand", spec.demands[0]]
        if spec.duration is not None:
            command += ["--duration", f"{spec.duration:g}"]
        console.print(f"run them: {shlex.join(command)}")
        console.print(
            f"beside agents and other baselines: `intergreen evaluate RUN --baselines "
            f"{shlex.quote(str(result.tuned_file))}`, or the file's path in a grid's "
            "`baselines:`",
            markup=False,
        )


def register(app: typer.Typer) -> None:
    """Add ``tune`` to the ``intergreen`` app."""
    app.command("tune")(tune_command)
