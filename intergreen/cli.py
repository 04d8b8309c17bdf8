"""The ``intergreen`` command.

User errors (a bad junction, demand, option or file: any
:class:`~intergreen.errors.IntergreenError`) print one line on stderr and exit with code 2,
with no traceback (``intergreen --debug ...`` shows it) and no SUMO process left behind; any
other exception is a bug and keeps its traceback. The error handling is
:class:`intergreen.cli_common.IntergreenGroup`'s, shared by every part's commands.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from intergreen.agents.cli import register as register_agents
from intergreen.calibration.cli import register as register_calibration
from intergreen.cli_common import err_console, new_app, parse_params, set_debug
from intergreen.common import ensure_writable
from intergreen.errors import OptionError
from intergreen.experiments.cli import register as register_experiments
from intergreen.rewards.cli import app as rewards_app
from intergreen.tuning.cli import register as register_tuning

app = new_app(help="RL traffic-signal control on a calibrated UK junction in SUMO.")
junctions_app = new_app(help="Shipped junctions.")
app.add_typer(junctions_app, name="junctions")
console = Console()


@app.callback()
def _root(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the traceback of a user error too")
    ] = False,
) -> None:
    """RL traffic-signal control on a calibrated UK junction in SUMO."""
    set_debug(debug)


def load_controller(name: str, params: dict[str, Any], seed: int):
    """A baseline by name, or a trained agent from a model file or run folder.

    Raises:
        OptionError: ``--param`` given with a trained agent (it has no parameters).
    """
    from intergreen.junctions.baselines import is_baseline, make_baseline

    path = Path(name)
    if not is_baseline(name) and (path.suffix == ".zip" or path.exists()):
        from intergreen.agents.policy import load_policy

        if params:
            raise OptionError(
                f"--param {', '.join(params)}: a trained agent ({name}) takes no parameters; "
                "--param sets a baseline controller's (e.g. --param max_green=40)"
            )
        return load_policy(path)
    if name.replace("_", "-").lower() == "random":
        params = {"seed": seed, **params}
    return make_baseline(name, **params)


def metrics_table(title: str, metrics: dict[str, Any]) -> Table:
    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in metrics.items():
        table.add_row(key, f"{value:.2f}" if isinstance(value, float) else str(value))
    return table


@app.command()
def simulate(
    junction: Annotated[
        str | None,
        typer.Option(help="Shipped junction name or junction YAML (default: the agent's, gm_a56)"),
    ] = None,
    demand: Annotated[
        str, typer.Option(help="low|medium|high, 1900vph, or profile YAML")
    ] = "medium",
    controller: Annotated[
        str,
        typer.Option(
            help="fixed-time|vehicle-actuated|camera-actuated|max-occupancy|random, "
            "NAME:tuned, or model.zip"
        ),
    ] = "vehicle-actuated",
    seed: Annotated[int, typer.Option(min=0, help="SUMO and sensor-noise seed")] = 1,
    duration: Annotated[
        float | None, typer.Option(min=1, help="Simulated seconds (default: the demand's)")
    ] = None,
    reward: Annotated[str | None, typer.Option(help="Also report this reward's sum")] = None,
    param: Annotated[
        list[str] | None, typer.Option(help="Controller parameter KEY=VALUE (repeatable)")
    ] = None,
    stages: Annotated[
        str | None,
        typer.Option(
            help="Action stages, e.g. 2,3,4 to let the controller call the pedestrian stage"
        ),
    ] = None,
    gui: Annotated[bool, typer.Option(help="Watch in sumo-gui")] = False,
    output: Annotated[Path | None, typer.Option(help="Folder for metrics.json / .csv")] = None,
    param_file: Annotated[
        Path | None, typer.Option(help="Baseline parameters from a file (tune's tuned.json)")
    ] = None,
) -> None:
    """Simulate the junction with a controller and print its traffic metrics."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from intergreen.agents.runenv import make_run_env, policy_run_env
    from intergreen.junctions.baseline_params import params_for
    from intergreen.junctions.rollout import run_episode

    params = parse_params(param)
    if param_file is not None:
        params = {**params_for(param_file, controller), **params}
    policy = load_controller(controller, params, seed)
    options = {"action_stages": [x.strip() for x in stages.split(",")]} if stages else {}
    # a trained agent: its run's junction and options, the ones given here winning
    env = make_run_env(policy_run_env(policy), junction, demand, reward, seed=seed,
                       duration=duration, gui=gui, **options)  # fmt: skip
    if output is not None:
        ensure_writable(output, "--output")
    total = duration or env._demand_choice(env.np_random).duration
    with Progress(
        TextColumn("[bold]simulating"),
        BarColumn(),
        TextColumn("{task.completed:.0f}/{task.total:.0f} s"),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    ) as bar:
        task = bar.add_task("sim", total=total)
        result = run_episode(env, policy, seed, progress=lambda t: bar.update(task, completed=t))
    metrics = dict(result.metrics)
    if reward is not None:
        metrics[f"reward_sum ({reward})"] = result.reward
    title = f"{env.spec_.name} | demand {result.demand} | {result.controller} | seed {seed}"
    console.print(metrics_table(title, metrics))
    console.print(f"wall time {result.wall_s:.2f} s")
    if output is not None:
        _write_outputs(output, result.row(), result.env)
        console.print(f"wrote {output / 'metrics.json'} and {output / 'metrics.csv'}", markup=False)


def _write_outputs(folder: Path, row: dict[str, Any], env_meta: dict[str, Any]) -> None:
    (folder / "metrics.json").write_text(json.dumps({**row, "env": env_meta}, indent=2))
    with open(folder / "metrics.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(row))
        writer.writeheader()
        writer.writerow(row)


@junctions_app.command("list")
def junctions_list() -> None:
    """List the shipped junctions."""
    from intergreen.junctions.catalog import junction_names, resolve_junction

    table = Table(show_header=True, header_style="bold")
    for col in ("name", "arms", "stages", "description"):
        table.add_column(col)
    for name in junction_names():
        spec = resolve_junction(name)
        table.add_row(
            name, str(len(spec.arms)), str(len(spec.stages)), " ".join(spec.description.split())
        )
    console.print(table)


@junctions_app.command("show")
def junctions_show(name: str) -> None:
    """Show a junction's arms, signal groups, stages, transitions and demands."""
    from intergreen.junctions import rules as rule_profiles
    from intergreen.junctions.catalog import resolve_junction
    from intergreen.junctions.demand import demand_names

    spec = resolve_junction(name)
    console.print(f"[bold]{escape(spec.name)}[/bold]: {escape(' '.join(spec.description.split()))}")
    source = getattr(spec, "network", None)  # a junction imported from a SUMO network
    if source is not None:
        routes = ", ".join(source.routes) or "none"
        console.print(
            f"network {source.net_file}, traffic light {source.tls}, routes {routes}",
            markup=False,
        )
        profile = rule_profiles.resolve(spec.rules)
        console.print(f"rules: {profile.name} ({profile.description})", markup=False)
    if spec.extends:
        console.print(f"a variant of {spec.extends} (its demand files apply)")
    t = spec.timing
    console.print(
        f"step {t.step_length} s, decision every {t.decision_interval} s, amber {t.amber} s, "
        f"red+amber {t.red_amber} s, default min green {t.default_min_green} s, "
        "default intergreen "
        + ("per group pair" if t.default_intergreen is None else f"{t.default_intergreen} s")
    )
    arms = Table("arm", "bearing", "length m", "limit m/s", "approach lanes", "exit lanes")
    for a, arm in spec.arms.items():
        lanes = " | ".join("+".join(lane.movements) for lane in arm.approach_lanes)
        arms.add_row(a, f"{arm.bearing:g}", f"{arm.length:g}", f"{arm.speed_limit:g}", lanes,
                     str(arm.exit_lanes))  # fmt: skip
    console.print(arms)
    groups = Table("group", "movements", "min green s", "conflicts with")
    for g, sg in spec.signal_groups.items():
        conflicts = sorted(b for a, b in spec.conflicts if a == g)
        label = ", ".join(sg.movements) + (" (arrow)" if sg.arrow else "")
        if getattr(sg, "links", None):  # imported: SUMO link indices
            label += f" (links {', '.join(map(str, sg.links))})"
        groups.add_row(g, label, f"{spec.min_green(g):g}", ", ".join(conflicts))
    console.print(groups)
    stages = Table("stage", "groups", "may go to", "max green s", "description")
    for s, st in spec.stages.items():
        stages.add_row(
            s + (" *" if s in spec.action_stages else ""),
            ", ".join(st.groups),
            ", ".join(spec.transitions.get(s, [])),
            "-" if st.max_green is None else f"{st.max_green:g}",
            st.description,
        )
    console.print(stages)
    console.print("* action stages (the agent chooses among them)")
    if spec.intergreens:
        igs = Table("losing group", "intergreen s to gaining groups")
        for lo, row in spec.intergreens.items():
            igs.add_row(lo, ", ".join(f"{ga} {v:g}" for ga, v in row.items()))
        console.print(igs)
    for note in getattr(spec, "assumptions", []):
        console.print(f"assumption: {note}", markup=False)
    console.print(f"demands: {', '.join(demand_names(spec)) or 'none'}")


@junctions_app.command("import")
def junctions_import(
    net_file: Annotated[Path, typer.Argument(help="A SUMO network (.net.xml)")],
    out: Annotated[Path, typer.Option(help="Folder for the junction YAML")],
    tls: Annotated[
        str | None, typer.Option(help="Traffic light id (needed when there are several)")
    ] = None,
    routes: Annotated[
        list[Path] | None, typer.Option(help="SUMO route file for the demand (repeatable)")
    ] = None,
    rules: Annotated[str, typer.Option(help="Signal-rule profile: uk, program, ...")] = "uk",
    transitions: Annotated[
        str, typer.Option(help="Permitted stage changes: program (its order) or all")
    ] = "program",
    begin: Annotated[float, typer.Option(min=0, help="SUMO time the runs start (s)")] = 0.0,
    end: Annotated[
        float | None, typer.Option(help="SUMO time the runs end (s; default begin + 1 h)")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Junction name (default: from the file)")] = None,
) -> None:
    """Import one traffic light of a SUMO network as an editable junction YAML."""
    from intergreen.junctions.sumo_import import import_network

    ensure_writable(out)
    path, _, _ = import_network(
        net_file, out, tls=tls, routes=routes or [], name=name, rules=rules,
        transitions=transitions, begin=begin, end=end,
    )  # fmt: skip
    junctions_show(str(path))
    console.print(f"wrote {path}", markup=False)


app.add_typer(rewards_app, name="rewards", help="The reward registry.")
register_agents(app)
register_tuning(app)
register_experiments(app)
register_calibration(app)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script: run the ``intergreen`` app on ``argv``.

    Exits with the command's code: 0 done, 1 a command's own failure (e.g. failed runs),
    2 a user error (one line on stderr), 130 interrupted.
    """
    code = app(args=argv, standalone_mode=False)
    if isinstance(code, int) and code:  # typer.Exit(n) returns n in this mode
        sys.exit(code)


if __name__ == "__main__":
    main()
