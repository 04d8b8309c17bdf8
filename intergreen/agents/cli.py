"""`intergreen train` and `intergreen evaluate`."""

from __future__ import annotations

import inspect
import shlex
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from intergreen.agents.config import (
    DEFAULT_TRAIN_SEED,
    DEFAULT_TRAIN_TIMESTEPS,
    MAX_TRAIN_TIMESTEPS,
)
from intergreen.cli_common import parse_params, parse_time_limit, progress_bar, split_list
from intergreen.common import (
    check_sim_seconds,
    ensure_writable,
    ensure_writable_file,
    print_table,
)
from intergreen.errors import Interrupted, OptionError
from intergreen.rewards.option import REWARD_HELP, parse_reward
from intergreen.seeds import MAX_BASE_SEED

console = Console(markup=False, soft_wrap=True)  # paths and run records: never split


def train_command(
    agent: Annotated[str, typer.Option(help="dqn or ppo")],
    out: Annotated[Path, typer.Option(help="Run folder")],
    reward: Annotated[str, typer.Option(help=f"Training reward: {REWARD_HELP}")] = (
        "average_speed"
    ),
    demand: Annotated[
        str | None,
        typer.Option(
            help="mixed (the training range), a level, or a comma list (default: mixed; on a "
            "junction without demand.yaml its own demand, e.g. an imported network's routes)"
        ),
    ] = None,
    junction: Annotated[str, typer.Option(help="Junction name or YAML")] = "gm_a56",
    timesteps: Annotated[
        int,
        typer.Option(min=1, max=MAX_TRAIN_TIMESTEPS, help="Agent decisions to train for"),
    ] = DEFAULT_TRAIN_TIMESTEPS,
    seed: Annotated[
        int, typer.Option(min=0, max=MAX_BASE_SEED, help="Base seed of the training streams")
    ] = DEFAULT_TRAIN_SEED,
    n_envs: Annotated[int, typer.Option("--n-envs", min=1, max=64, help="SUMO processes")] = 1,
    preset: Annotated[
        str | None, typer.Option(help="Hyperparameter preset, e.g. study_dqn")
    ] = None,
    hp: Annotated[
        list[str] | None, typer.Option(help="Hyperparameter KEY=VALUE (repeatable)")
    ] = None,
    env: Annotated[
        list[str] | None,
        typer.Option(help="Environment option KEY=VALUE, e.g. decisions=every_interval"),
    ] = None,
    checkpoint_every: Annotated[int, typer.Option(min=1)] = 20_000,
    time_limit: Annotated[
        str | None, typer.Option(help="Stop after this wall time, e.g. 30m, 2h, 90s")
    ] = None,
    resume: Annotated[bool, typer.Option(help="Continue a killed run exactly")] = False,
    force: Annotated[bool, typer.Option(help="Replace another run in --out")] = False,
    keep_replay_buffer: Annotated[
        bool, typer.Option(help="Keep DQN's replay buffer when the run finishes (large)")
    ] = False,
    validate_every: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Score the greedy policy on validation episodes every N decisions and at the "
            "end; keep best_model.zip (default: no validation)",
        ),
    ] = None,
    validate_episodes: Annotated[
        int,
        typer.Option(
            min=1,
            help="Validation episodes per validation demand, 1-100 (the same seeds at every point)",
        ),
    ] = 3,
    validate_demands: Annotated[
        str | None,
        typer.Option(help="Comma list of demands to validate at (default: the training demand)"),
    ] = None,
    validate_score: Annotated[
        str,
        typer.Option(
            help="A validation point's score: mean or geometric_mean of its episodes' waits"
        ),
    ] = "mean",
) -> None:
    """Train a DQN or PPO agent (stable-baselines3) on the junction."""
    from intergreen.agents.policy import choose_model
    from intergreen.agents.training import train

    demand_arg = split_list(demand) if demand is not None and "," in demand else demand
    reward_spec = parse_reward(reward)
    again = _resume_command(
        agent=agent, out=out, reward=reward, demand=demand, junction=junction,
        timesteps=timesteps, seed=seed, n_envs=n_envs, preset=preset, hp=hp, env=env,
        checkpoint_every=checkpoint_every, time_limit=time_limit,
        keep_replay_buffer=keep_replay_buffer,
        validate_every=validate_every,
        validate_episodes=validate_episodes,
        validate_demands=validate_demands,
        validate_score=validate_score,
    )  # fmt: skip
    try:
        model = train(
            agent,
            junction=junction,
            demand=demand_arg,
            reward=reward_spec,
            timesteps=timesteps,
            seed=seed,
            hyperparams=parse_params(hp, "--hp"),
            n_envs=n_envs,
            run_dir=out,
            preset=preset,
            checkpoint_every=checkpoint_every,
            env_kwargs=parse_params(env, "--env"),
            resume=resume,
            force=force,
            progress=True,
            time_limit=parse_time_limit(time_limit) if time_limit else None,
            keep_replay_buffer=keep_replay_buffer,
            validate_every=validate_every,
            validate_episodes=validate_episodes,
            validate_demands=split_list(validate_demands) if validate_demands else None,
            validate_score=validate_score,
        )
    except Interrupted as e:  # Ctrl-C: what was saved, and the command that continues
        raise Interrupted(f"{e}\nresume with: {again}") from None
    done = (out / "done.json").read_text()
    console.print(f"model: {model}\n{done}", soft_wrap=True)  # one line a script can parse
    if validate_every is not None:
        best = choose_model(out, "best")
        console.print(f"{best.describe()}: {best.path}")


def _resume_command(**given: object) -> str:
    """The ``intergreen train`` command line that continues this run (``--resume``): every
    option given, in the order of ``--help``, defaults left out."""
    defaults = {n: p.default for n, p in inspect.signature(train_command).parameters.items()}
    words = ["intergreen", "train"]
    for name, value in given.items():
        option = "--" + name.replace("_", "-")
        if value is None or value is False or defaults.get(name) == value:
            continue
        if value is True:
            words.append(option)
        elif isinstance(value, list):
            for item in value:
                words += [option, str(item)]
        else:
            words += [option, str(value)]
    return shlex.join([*words, "--resume"])


def evaluate_command(
    runs: Annotated[
        list[str],
        typer.Argument(
            help="Run folders, model zips, baseline names (NAME:tuned: the junction's tuned "
            "parameters) or a baseline tune's tuned.json"
        ),
    ],
    demands: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated demands (default: low,medium,high; on a junction without "
            "those levels, the runs' training demand)"
        ),
    ] = None,
    episodes: Annotated[int, typer.Option(min=1, help="Episodes per demand level")] = 20,
    baselines: Annotated[
        str,
        typer.Option(
            help="Baselines to show beside (comma list, '' for none): names, NAME:tuned, or "
            "a baseline tune's tuned.json"
        ),
    ] = "vehicle-actuated,max-occupancy,fixed-time",
    protocol: Annotated[
        str | None, typer.Option(help="'study': 100 episodes per demand level")
    ] = None,
    junction: Annotated[
        str | None, typer.Option(help="Default: the runs' junction (baselines only: gm_a56)")
    ] = None,
    duration: Annotated[
        float | None, typer.Option(min=1, help="Simulated s (default: the run's, or the demand's)")
    ] = None,
    workers: Annotated[int, typer.Option(min=1, max=64)] = 1,
    reward: Annotated[
        str | None,
        typer.Option(
            help="Reward summed per episode over each controller's own decisions (not "
            "comparable across controllers deciding at different rates; default: an agent's "
            "own, queue for baselines): " + REWARD_HELP
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(help="Write every episode to this CSV, timelines to <name>_timelines/"),
    ] = None,
    timelines: Annotated[
        int,
        typer.Option(
            min=0, max=1000, help="With --output: timeline plots per controller and demand"
        ),
    ] = 1,
    checkpoint: Annotated[
        str | None,
        typer.Option(
            help="best (by greedy validation score) or final; default: best when the run has "
            "one, else final"
        ),
    ] = None,
    check_rules: Annotated[
        bool, typer.Option(help="Check the signal states SUMO shows every step; stop at a breach")
    ] = False,
) -> None:
    """Average waiting time and delay (mean ± std) per demand level, beside the baselines."""
    from intergreen.agents.evaluation import (
        STUDY_EPISODES,
        check_evaluation,
        default_demands,
        evaluate,
        summary_table,
    )
    from intergreen.agents.policy import choose_model
    from intergreen.junctions.baseline_params import is_param_file_name, read_param_file
    from intergreen.junctions.baselines import baseline_label, controller_not_found, is_baseline
    from intergreen.junctions.episode_output import (
        evaluation_arm_table,
        reward_legend,
        reward_sum_note,
    )

    if protocol not in (None, "study"):
        raise OptionError(f"--protocol {protocol!r}: the only protocol is 'study'")
    reward_spec = parse_reward(reward) if reward is not None else None
    if protocol == "study":
        episodes = STUDY_EPISODES
    if duration is not None:
        check_sim_seconds(duration, "--duration")
    timeline_dir = None
    if output is not None:  # before any episode runs: nothing computed is lost
        ensure_writable_file(output, "--output", "eval.csv")
        if timelines:
            timeline_dir = output.with_name(f"{output.stem}_timelines")
            ensure_writable(timeline_dir, "--output")
    controllers = list(runs) + [b for b in split_list(baselines) if b not in runs]
    # everything is checked before anything is printed: a mistake is one line
    said: list[str] = []
    for run in runs:  # which model of each run (before any episode: a bad choice fails here)
        if not is_baseline(run):
            if not Path(run).exists():  # a typo of a baseline, or a missing run folder
                raise controller_not_found(run)
            choice = choose_model(run, checkpoint)
            default = " (the default: the run has one)" if checkpoint is None else ""
            default = default if choice.checkpoint == "best" else ""
            said.append(f"{run}: {choice.describe()}{default}")
    for name in controllers:  # a tune's parameter file: what it runs
        if is_param_file_name(name):
            said.append(f"{baseline_label(name)}: {read_param_file(name).describe()}")
    if demands is None:
        levels, note = default_demands(controllers, junction, checkpoint)
        if note is not None:
            said.append(f"demands: {', '.join(levels)} ({note})")
    else:
        levels = split_list(demands)
    _, levels, episode = check_evaluation(
        controllers, junction, levels, reward_spec, duration, checkpoint
    )
    said.append(_episodes_line(episodes, episode, given=duration is not None))
    for line in said:
        console.print(line)
    with progress_bar("evaluating", "episodes") as bar:
        total = len(controllers) * len(levels) * episodes
        task = bar.add_task("evaluate", total=total)
        results = evaluate(
            controllers,
            junction=junction,
            demands=levels,
            episodes=episodes,
            duration=duration,
            workers=workers,
            reward=reward_spec,
            timelines=timeline_dir,
            timeline_episodes=timelines,
            checkpoint=checkpoint,
            check_rules=check_rules,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    if output is not None:  # written before anything is printed: a closed pipe loses nothing
        results.to_csv(output, index=False)
    titles = {
        "avg_waiting_time": "average waiting time (s)",
        "avg_delay": "average delay (s: time loss and insertion wait, RESCO's delay)",
    }
    for metric, what in titles.items():
        if metric not in results:
            continue
        table = summary_table(results, metric)
        each = f"{episodes} episode{'' if episodes == 1 else 's'} per demand"
        spread = " (mean ± standard deviation over the episodes)" if episodes > 1 else ""
        out = Table(title=f"{what}, {each}{spread}", header_style="bold")
        out.add_column("controller", overflow="fold")
        for col in table.columns:
            out.add_column(str(col), justify="right")
        for name, row in table.iterrows():
            out.add_row(str(name), *[str(v) for v in row])
        print_table(console, out)
    arms = evaluation_arm_table(results)
    if arms is not None:
        print_table(console, arms)
    if output is not None:
        console.print(f"wrote {output}" + (f" and {timeline_dir}/" if timeline_dir else ""))
        rewards = [str(c) for c in results.columns if str(c).startswith("reward_")]
        if rewards:
            per = results.groupby("controller", sort=False)["decisions"]
            made = {c: (float(g.mean()), float(g.min()), float(g.max())) for c, g in per}
            console.print(reward_sum_note(rewards, made), markup=False, highlight=False)
            legend = reward_legend(rewards, [reward_spec])
            if legend is not None:
                console.print(legend, markup=False, highlight=False)


def _episodes_line(episodes: int, episode: dict[str, object], given: bool) -> str:
    """What every controller of an evaluation plays, e.g. ``episodes: 2 per demand, 300 s
    each (the runs' duration), the same for every controller``."""
    if "duration" in episode:
        whence = "--duration" if given else "the runs' duration"
        length = f"{episode['duration']:g} s each ({whence})"
    else:
        length = "each demand's own length"
    others = [f"{k}={v}" for k, v in episode.items() if k != "duration"]
    also = f", {', '.join(others)} (the runs')" if others else ""
    return f"episodes: {episodes} per demand, {length}{also}, the same for every controller"


def validation_curve_command(
    runs: Annotated[list[Path], typer.Argument(help="Run folders trained with --validate-every")],
    tolerance: Annotated[
        float, typer.Option(min=0, help="Convergence: median seed within this of its best")
    ] = 0.05,
    sustained: Annotated[
        bool, typer.Option(help="Convergence only where the median seed stays within it")
    ] = False,
    output: Annotated[Path | None, typer.Option(help="Write the curves to this CSV")] = None,
) -> None:
    """Greedy validation score (mean waiting time, s/veh) of each run against training
    decisions, per training reward: each run's best, the median run's gap to its own best, and
    the first step at which that gap is within --tolerance (the convergence budget), and the
    median run's gap to its best of its best checkpoint so far (what stopping at a step costs
    a run that keeps its best checkpoint by validation)."""
    import pandas as pd

    from intergreen.agents.curves import (
        convergence_budget,
        median_gap,
        selection_gap,
        validation_curves,
    )

    if output is not None:
        ensure_writable_file(output, "--output", "curves.csv")
    curves = validation_curves(runs)
    within = f"within {100 * tolerance:g}% of its best"
    for reward, group in curves.groupby("reward", sort=False):
        table = group.pivot(index="step", columns="run", values="score").sort_index()
        gap = median_gap(group, by="run")
        kept = selection_gap(group, by="run")["median"]
        out = Table(
            title=f"{reward}: greedy validation score (s/veh; * = the run's best)",
            header_style="bold",
        )
        out.add_column("step", justify="right")
        for run in table.columns:
            out.add_column(str(run), justify="right")
        out.add_column("median gap", justify="right")
        out.add_column("best so far", justify="right")
        best = table.idxmin()
        for step, row in table.iterrows():
            cells = [
                "" if pd.isna(row[r]) else f"{row[r]:.2f}{'*' if best[r] == step else ''}"
                for r in table.columns
            ]
            g, k = gap.get(step), kept.get(step)
            out.add_row(
                str(step),
                *cells,
                "" if g is None else f"{100 * g:.1f}%",
                "" if k is None else f"{100 * k:.1f}%",
            )
        print_table(console, out)
        budget = convergence_budget(group, tolerance, sustained=sustained, by="run")
        if budget is None:
            console.print(f"{reward}: the median run is never {within} at a step all runs share")
        else:
            console.print(
                f"{reward}: the median run is {within} from step {budget}; a run stopped "
                f"there keeps a best checkpoint {100 * kept[budget]:.1f}% above its best over "
                f"all {int(kept.index.max())} decisions (median run)"
            )
    if output is not None:
        curves.to_csv(output, index=False)
        console.print(f"wrote {output}")


def register(app: typer.Typer) -> None:
    app.command("train")(train_command)
    app.command("evaluate")(evaluate_command)
    app.command("validation-curve")(validation_curve_command)
