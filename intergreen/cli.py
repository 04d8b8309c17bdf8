"""The ``intergreen`` command.

User errors (a bad junction, demand, option or file: any
:class:`~intergreen.errors.IntergreenError`) print one line on stderr and exit with code 2,
with no traceback (``intergreen --debug ...`` shows it) and no SUMO process left behind; any
other exception is a bug and keeps its traceback. The error handling is
:class:`intergreen.cli_common.IntergreenGroup`'s, shared by every part's commands.
"""

from __future__ import annotations

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
from intergreen.cli_common import (
    new_app,
    option_given,
    parse_params,
    progress_bar,
    set_debug,
    split_list,
)
from intergreen.common import check_sim_seconds, ensure_writable, print_table
from intergreen.errors import OptionError
from intergreen.experiments.cli import register as register_experiments
from intergreen.junctions.baselines import BASELINES
from intergreen.rewards.cli import app as rewards_app
from intergreen.rewards.option import REWARD_HELP, parse_reward
from intergreen.tuning.cli import register as register_tuning

SCREENSHOT_EVERY_S = 60.0  # simulate --screenshot-every's default

app = new_app(help="RL traffic-signal control on a calibrated UK junction in SUMO.")
junctions_app = new_app(
    help="Junctions: list the shipped ones, show one, import one from a SUMO network, export "
    "one as SUMO files."
)
app.add_typer(junctions_app, name="junctions")
console = Console(soft_wrap=True)  # a line never breaks, also in a pipe: paths stay whole


def say(text: str) -> None:
    """Print ``text`` as it is (no markup) on one line however long: a path in it stays whole
    to copy, also when the output goes to a pipe or file (rich would wrap at 80 columns)."""
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def _print_version(value: bool) -> None:
    if value:
        from intergreen.version import __version__

        console.print(f"intergreen {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the traceback of a user error too")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit"
        ),
    ] = False,
    reward_module: Annotated[
        list[str] | None,
        typer.Option(
            "--reward-module",
            metavar="MODULE",
            help="Import your rewards from this module (a name in the working folder or on "
            "PYTHONPATH, or a .py path; repeatable); also $INTERGREEN_REWARD_MODULES",
        ),
    ] = None,
) -> None:
    """RL traffic-signal control on a calibrated UK junction in SUMO."""
    set_debug(debug)
    from intergreen.rewards.registry import load_reward_modules, reward_modules_from_env

    # now, as the option's: a bad module is one line before any work (it was a warning)
    load_reward_modules(reward_modules_from_env())
    if reward_module:
        load_reward_modules(reward_module)


def load_controller(name: str, params: dict[str, Any], seed: int) -> tuple[Any, dict[str, Any]]:
    """A baseline by name, or a trained agent from a model file or run folder, and the
    keyword parameters the baseline was built with (``random``'s ``seed``: ``seed`` unless
    given; ``{}`` for an agent).

    Raises:
        OptionError: ``--param`` given with a trained agent (it has no parameters).
    """
    from intergreen.junctions.baselines import controller_not_found, is_baseline, make_baseline

    path = Path(name)
    if not is_baseline(name) and not path.exists() and ("/" in name or path.suffix == ".zip"):
        raise controller_not_found(name)
    if not is_baseline(name) and path.exists():
        from intergreen.agents.policy import load_policy

        if params:
            raise OptionError(
                f"--param {', '.join(params)}: a trained agent ({name}) takes no parameters; "
                "--param sets a baseline controller's (e.g. --param max_green=40)"
            )
        return load_policy(path), {}
    if name.replace("_", "-").lower() == "random":
        params = {"seed": seed, **params}
    return make_baseline(name, **params), params


@app.command()
def simulate(
    ctx: typer.Context,
    junction: Annotated[
        str | None,
        typer.Option(help="Shipped junction name or junction YAML (default: the agent's, gm_a56)"),
    ] = None,
    demand: Annotated[
        str | None,
        typer.Option(
            help="low|medium|high, 1900vph, or profile YAML (default: the junction's: medium "
            "on gm_a56, the route files of an imported network)"
        ),
    ] = None,
    controller: Annotated[
        str,
        typer.Option(
            help=f"A baseline ({', '.join(BASELINES)}), NAME:tuned for its tuned parameters, "
            "a baseline tune's tuned.json, or a trained agent (its run folder or model.zip)"
        ),
    ] = "vehicle-actuated",
    seed: Annotated[int, typer.Option(min=0, help="SUMO and sensor-noise seed")] = 1,
    duration: Annotated[
        float | None,
        typer.Option(min=1, help="Simulated seconds, at most 7 days (default: the demand's)"),
    ] = None,
    reward: Annotated[
        str | None,
        typer.Option(help=f"Reward whose episode sum is reported (default: queue): {REWARD_HELP}"),
    ] = None,
    param: Annotated[
        list[str] | None, typer.Option(help="Controller parameter KEY=VALUE (repeatable)")
    ] = None,
    stages: Annotated[
        str | None,
        typer.Option(
            help="Action stages, at least two, each once, e.g. 2,3,4 to let the controller "
            "call the pedestrian stage (default: the junction's)"
        ),
    ] = None,
    gui: Annotated[
        bool, typer.Option(help="Watch in sumo-gui (needs a display; else use xvfb-run)")
    ] = False,
    delay: Annotated[
        float, typer.Option(min=0, max=60000, help="With --gui: ms of wall time per step")
    ] = 0.0,
    screenshot: Annotated[
        Path | None, typer.Option(help="With --gui: save the view into this folder")
    ] = None,
    screenshot_every: Annotated[
        float, typer.Option(min=1, help="With --screenshot: simulated seconds between images")
    ] = SCREENSHOT_EVERY_S,
    output: Annotated[
        Path | None,
        typer.Option(help="Folder for metrics.json / .csv and timeline.png / .json"),
    ] = None,
    param_file: Annotated[
        Path | None, typer.Option(help="Baseline parameters from a file (tune's tuned.json)")
    ] = None,
    check_rules: Annotated[
        bool,
        typer.Option(
            help="Check the signal states SUMO shows every step; stop at a breach (with "
            "--controller program: list where the network's own program breaks the rules)"
        ),
    ] = False,
) -> None:
    """Simulate the junction with a controller and print its traffic metrics."""
    from intergreen.agents.runenv import make_run_env, policy_run_env
    from intergreen.junctions import episode_output as show
    from intergreen.junctions.baseline_params import (
        is_param_file_name,
        params_for,
        read_param_file,
    )
    from intergreen.junctions.gui import GuiOptions, check_display
    from intergreen.junctions.rollout import run_episode
    from intergreen.junctions.simulation import simulation_factory

    if screenshot is not None and not gui:
        raise OptionError(
            "--screenshot saves sumo-gui's view: add --gui (and xvfb-run if headless)"
        )
    if option_given(ctx, "delay") and not gui:
        raise OptionError(f"--delay {delay:g} slows sumo-gui's steps: add --gui, or drop --delay")
    if option_given(ctx, "screenshot_every") and screenshot is None:
        raise OptionError(
            f"--screenshot-every {screenshot_every:g} spaces the images of --screenshot: add "
            "--screenshot FOLDER --gui, or drop --screenshot-every"
        )
    if duration is not None:
        check_sim_seconds(duration, "--duration")
    reward_spec = parse_reward(reward) if reward is not None else None
    if gui:
        check_display()  # at once, before loading anything
    given = parse_params(param)
    if is_param_file_name(controller):  # a tune's tuned.json: its baseline, its parameters
        if param_file is not None:
            raise OptionError(
                f"--controller {controller} and --param-file {param_file}: give the parameter "
                f"file once (--controller FILE, or --controller NAME --param-file FILE)"
            )
        param_file = Path(controller)
        controller = read_param_file(param_file).controller
    from_file = params_for(param_file, controller) if param_file is not None else {}
    params = {**from_file, **given}
    policy, built = load_controller(controller, params, seed)
    if param_file is not None:
        _check_param_file_junction(param_file, policy, junction)
    if junction is not None:  # an agent on another junction's lanes: before any warning
        from intergreen.agents.policy import junction_misfit
        from intergreen.junctions.catalog import resolve_junction

        misfit = junction_misfit(policy_run_env(policy), resolve_junction(junction), controller)
        if misfit is not None:
            raise OptionError(misfit)
    choice = getattr(policy, "choice", None)  # a trained agent: which of its run's models
    if choice is not None and choice.checkpoint in ("best", "latest"):
        console.print(f"{controller}: {choice.describe()}", markup=False, highlight=False)
    env_options: dict[str, Any] = {}
    if stages is not None:
        env_options["action_stages"] = _action_stages(stages, policy, junction)
        if param_file is not None:
            _check_param_file_stages(param_file, from_file, given, env_options["action_stages"])
    if check_rules:
        env_options["check_rules"] = True
    for folder, option in ((output, "--output"), (screenshot, "--screenshot")):
        if folder is not None:
            ensure_writable(folder, option)
    options = GuiOptions(delay_ms=delay, screenshots=screenshot, screenshot_every=screenshot_every)
    factory = simulation_factory(trace=True, emissions=True, gui_options=options)
    # a trained agent: its run's junction and options, the ones given here winning
    env = make_run_env(policy_run_env(policy), junction, demand, reward_spec, seed=seed,
                       duration=duration, gui=gui, simulation_factory=factory,
                       **env_options)  # fmt: skip
    total = duration or env._demand_choice(env.np_random).duration
    with progress_bar("simulating", "s") as bar:
        task = bar.add_task("sim", total=total)
        result = run_episode(env, policy, seed, progress=lambda t: bar.update(task, completed=t))
    row = result.row()
    record = controller_record(policy, built, given, param_file)
    who = result.controller + (f" ({record['params_text']})" if "params_text" in record else "")
    title = f"{env.spec_.name} | demand {result.demand} | {who} | seed {seed}"
    written = []
    if output is not None:  # before anything is printed: a closed pipe (| head) loses nothing
        timeline = (result.trace, env.spec_, env.network.links, title) if result.trace else None
        kept = {k: v for k, v in record.items() if k != "params_text"}
        written = show.write_episode(output, row, result.env, timeline, record=kept)
    console.print(f"[bold]{escape(title)}[/bold]", soft_wrap=True)
    tables = (show.traffic_table(row), show.arm_table(row), show.emissions_table(row),
              show.plan_table(record.get("signal_plans") or [], row["simulated_s"]))  # fmt: skip
    for table in tables:
        if table is not None:
            print_table(console, table)
    rewards = [k for k in row if k.startswith("reward_")]
    if rewards:
        made = {result.controller: float(row["decisions"])}
        console.print(show.reward_sum_note(rewards, made), markup=False, highlight=False)
        legend = show.reward_legend(rewards, [reward_spec])
        if legend is not None:
            console.print(legend, markup=False, highlight=False)
    console.print(f"wall time {result.wall_s:.2f} s")
    if env.rule_findings is not None:  # --check-rules on the network's own program
        for line in env.rule_findings.lines():
            console.print(line, markup=False, highlight=False)
    elif env.checked_rules is not None:  # a breach would have stopped the run
        console.print(
            f"check-rules: the signals SUMO showed kept rules {env.checked_rules} at every step "
            f"of the {row['simulated_s']:g} simulated s{_own_minimum_note(env.spec_)}",
            markup=False, highlight=False,
        )  # fmt: skip
    if screenshot is not None:
        say(f"screenshots in {screenshot}")
    if written:
        say("wrote " + ", ".join(str(p) for p in written))


def _own_minimum_note(spec: Any) -> str:
    """For the check-rules line: where the junction's default minimum green is below its rule
    profile's, that the minimum greens judged are the junction's own (a traffic engineer's
    trial read "kept rules uk" of a junction with 0.5 s minimum greens as UK-compliant)."""
    from intergreen.junctions import rules as rule_profiles

    own = spec.timing.default_min_green
    profile = rule_profiles.resolve(spec.rules)
    if own is None or own >= profile.default_min_green:
        return ""
    return (
        f" (minimum greens judged as the junction states them: timing.default_min_green "
        f"{own:g} s, below the {profile.name} rules' {profile.default_min_green:g} s)"
    )


def controller_record(
    policy: Any, built: dict[str, Any], given: dict[str, Any], param_file: Path | None
) -> dict[str, Any]:
    """What ``simulate`` records about a baseline's parameters: ``controller_params``, every
    parameter it ran with (its defaults, a ``NAME:tuned`` baseline's tuned values, read at
    reset, and ``built``, the ones it was built with, in that order); ``param_file``, the file
    they came from (``--param-file``, or the junction's tuned file), else None;
    ``params_given``, the ``--param`` values (over the file's); and ``params_text``, for the
    header line: the parameters that differ from the defaults and where they came from, e.g.
    ``extension=1.15, max_green=30; from tuned.json``, else ``defaults`` (``defaults; from
    tuned.json`` for a file equal to them). ``{}`` for a trained
    agent (it has no parameters)."""
    from intergreen.junctions.baseline_params import read_param_file
    from intergreen.junctions.baselines import is_baseline, parameter_defaults

    name = getattr(policy, "name", None)
    if not isinstance(name, str) or not is_baseline(name):
        return {}
    tuned = getattr(policy, "file", None)  # NAME:tuned: the junction's tuned file
    defaults = parameter_defaults(name)
    used = {**defaults, **(tuned.params if tuned else {}), **built}
    source = str(param_file) if param_file is not None else (str(tuned.path) if tuned else None)
    record = {"controller_params": used, "param_file": source, "params_given": dict(given)}
    plans = getattr(getattr(policy, "inner", policy), "plans", None)  # fixed-time, after reset
    if plans:
        record["signal_plans"] = [plan.as_dict() for plan in plans]
    if used:  # not program, max-pressure, greedy: they take none
        # a file's own defaults ({"2": 40.0, "4": 40.0} for max_green=40) count as the defaults
        doc = read_param_file(param_file).doc if param_file is not None else {}
        file_defaults = (tuned.doc if tuned else doc).get("default_params") or {}
        changed = [
            f"{k}={json.dumps(v)}"
            for k, v in used.items()
            if not _is_default(v, defaults[k], file_defaults.get(k, defaults[k]))
        ]
        origin = [f"from {source}"] if source is not None else []
        origin += [f"--param {', '.join(given)}"] if given else []
        text = "; ".join(x for x in (", ".join(changed) or "defaults", ", ".join(origin)) if x)
        record["params_text"] = text
    return record


def _is_default(value: Any, default: Any, file_default: Any) -> bool:
    """Whether a parameter's ``value`` is its default: equal to the controller's ``default``,
    to the parameter file's ``default_params`` entry, or a per-stage ``{stage: v}`` whose every
    ``v`` equals a scalar default (``{"2": 40.0, "4": 40.0}`` for ``max_green=40.0``)."""
    if value in (default, file_default):
        return True
    per_stage = isinstance(value, dict) and value and not isinstance(default, dict)
    return bool(per_stage and default is not None and all(v == default for v in value.values()))


def _check_param_file_junction(param_file: Path, policy: Any, junction: str | None) -> None:
    """Refuse a ``--param-file`` tuned on another junction than the one simulated."""
    from intergreen.agents.runenv import policy_run_env
    from intergreen.agents.runenv import resolve_junction as run_junction
    from intergreen.junctions.baseline_params import check_tuned_junction
    from intergreen.junctions.catalog import resolve_junction

    check_tuned_junction(
        param_file, resolve_junction(run_junction(policy_run_env(policy), junction))
    )


def _check_param_file_stages(
    param_file: Path, from_file: dict[str, Any], given: dict[str, Any], stages: list[str]
) -> None:
    """Refuse ``--stages`` other than the stages a ``--param-file``'s per-stage parameters
    (``{stage: value}``, e.g. a tuned ``max_green``) were tuned for, unless ``--param``
    replaces them.

    Raises:
        OptionError: naming the file, the parameter, its stages and the fixes.
    """
    for name, value in from_file.items():
        if name in given or not isinstance(value, dict) or set(map(str, value)) == set(stages):
            continue
        raise OptionError(
            f"{param_file}: {name} has a value per stage for action stages "
            f"{','.join(map(str, value))}, and --stages {','.join(stages)} runs others: leave "
            f"--stages out, or give --param {name}=SECONDS for these stages"
        )


def _action_stages(text: str, policy: Any, junction: str | None) -> list[str]:
    """``--stages 2,3,4`` as stage names, each a stage of the junction the run will use.

    Raises:
        OptionError: naming --stages, the stages that are not the junction's and its stages, no
            stage (``--stages ''``), fewer than two stages or a stage twice
            (:func:`~intergreen.junctions.env.check_action_stages`).
    """
    from intergreen.agents.runenv import policy_run_env
    from intergreen.agents.runenv import resolve_junction as run_junction
    from intergreen.junctions.catalog import resolve_junction
    from intergreen.junctions.env import check_action_stages

    chosen = split_list(text)
    spec = resolve_junction(run_junction(policy_run_env(policy), junction))
    unknown = [s for s in chosen if s not in spec.stages]
    if unknown or not chosen:
        what = f"no stage {', '.join(unknown)} in {spec.name}" if unknown else "no stage named"
        raise OptionError(
            f"--stages {text!r}: {what}; give some of its stages {', '.join(spec.stages)} "
            f"separated by commas, e.g. --stages {','.join(spec.action_stages)}"
        )
    check_action_stages(spec, chosen, "--stages")
    return chosen


@junctions_app.command("list")
def junctions_list() -> None:
    """List the shipped junctions, and the other names a --junction takes."""
    from intergreen.junctions import resco
    from intergreen.junctions.catalog import junction_names, resco_names, resolve_junction

    table = Table(show_header=True, header_style="bold")
    for col in ("name", "arms", "stages", "description"):
        table.add_column(col)
    for name in junction_names():
        spec = resolve_junction(name)
        table.add_row(
            name, str(len(spec.arms)), str(len(spec.stages)), " ".join(spec.description.split())
        )
    print_table(console, table)
    say(f"also: {', '.join(resco_names())}, RESCO's scenarios with RESCO's settings (a 3 s "
        f"yellow, no all-red), {resco.PREFIX}NAME:uk under UK rules, {resco.PREFIX}NAME:program "
        f"under the network program's own amber, all-red and minDur; they need {resco.EXTRA}; "
        "and any junction YAML by path (`intergreen junctions import` makes one from a SUMO "
        "network)")  # fmt: skip


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
        say(f"network {source.net_file}, traffic light {source.tls}, routes {routes}")
        profile = rule_profiles.resolve(spec.rules)
        say(f"rules: {profile.name} ({profile.description})")
    if spec.extends:
        console.print(f"a variant of {spec.extends} (its demand files apply)")
    t = spec.timing
    console.print(
        f"step {t.step_length} s, decision every {t.decision_interval} s, amber {t.amber} s, "
        f"red+amber {t.red_amber} s, default min green {t.default_min_green} s, "
        "default intergreen "
        + ("per group pair" if t.default_intergreen is None else f"{t.default_intergreen} s")
    )
    if spec.raised_intergreens:
        profile = rule_profiles.resolve(spec.rules)
        floor = f"{profile.min_intergreen:g} s"
        say(f"intergreens its YAML states below rules {profile.name}'s minimum of {floor}, "
            f"run as {floor}: {', '.join(spec.raised_intergreens)} (state {floor} or more, or "
            "choose other rules)")  # fmt: skip
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
    console.print(f"demands: {', '.join(demand_names(spec)) or 'none'}", markup=False)
    if getattr(spec, "network", None) is not None and getattr(spec.network, "routes", None):
        # the route files' traffic through the signal (warns when none passes it)
        from intergreen.junctions.demand import resolve_demand

        routes = resolve_demand(spec, "routes")
        total = sum(routes.periods[0].flows.values())
        console.print(f"routes: {total:,.0f} veh/h through the signal ({routes.source})",
                      markup=False)  # fmt: skip


@junctions_app.command("import")
def junctions_import(
    net_file: Annotated[Path, typer.Argument(help="A SUMO network (.net.xml, or .net.xml.gz)")],
    out: Annotated[Path, typer.Option(help="Folder for the junction YAML")],
    tls: Annotated[
        str | None, typer.Option(help="Traffic light id (needed when there are several)")
    ] = None,
    routes: Annotated[
        list[Path] | None, typer.Option(help="SUMO route file for the demand (repeatable)")
    ] = None,
    rules: Annotated[str, typer.Option(help="Signal-rule profile: uk, program, ...")] = "uk",
    transitions: Annotated[
        str,
        typer.Option(
            help="Permitted stage changes: program (only to the next stage in the program's "
            "order) or all (any stage to any other, as RESCO and sumo-rl)"
        ),
    ] = "program",
    begin: Annotated[float, typer.Option(help="SUMO time the runs start (s, >= 0)")] = 0.0,
    end: Annotated[
        float | None,
        typer.Option(help="SUMO time the runs end (s; default begin + 1 h; at most 7 days on)"),
    ] = None,
    name: Annotated[str | None, typer.Option(help="Junction name (default: from the file)")] = None,
    max_green: Annotated[
        float | None,
        typer.Option(
            help="Every stage's maximum green (s), as a UK controller has one (default none: a "
            "stage runs while the controller keeps choosing it)"
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Replace a junction.yaml already in --out (its edits are lost)")
    ] = False,
) -> None:
    """Import one traffic light of a SUMO network as an editable junction YAML."""
    from intergreen.junctions.imported_yaml import (
        import_network,
        nested_stages_note,
        transitions_note,
    )

    path, data, _ = import_network(
        net_file, out, tls=tls, routes=routes or [], name=name, rules=rules,
        transitions=transitions, begin=begin, end=end, max_green=max_green, force=force,
    )  # fmt: skip
    junctions_show(str(path))
    for note in (
        transitions_note(data["transitions"]),
        nested_stages_note(data["stages"], data["action_stages"]),
    ):
        if note is not None:
            say(f"note: {note}")
    say(f"wrote {path}")


@junctions_app.command("export")
def junctions_export(
    name: Annotated[str, typer.Argument(help="Shipped junction name or junction YAML")],
    out: Annotated[Path, typer.Option(help="Folder for the SUMO files")],
    demand: Annotated[
        str | None,
        typer.Option(help="Demand of the route file (default: the junction's, as simulate)"),
    ] = None,
    seed: Annotated[int, typer.Option(min=0, help="SUMO seed in the configuration")] = 1,
    duration: Annotated[
        float | None,
        typer.Option(min=1, help="Simulated seconds, at most 7 days (default: the demand's)"),
    ] = None,
    green: Annotated[
        list[str] | None,
        typer.Option(help="Fixed-time green STAGE=SECONDS per action stage (default 30 s)"),
    ] = None,
) -> None:
    """Write the junction's .net.xml, routes and a .sumocfg that plain sumo / sumo-gui open."""
    from intergreen.junctions.export import export_junction

    greens: dict[str, float] = {}
    for item in green or []:
        stage, sep, seconds = item.partition("=")
        try:
            greens[stage.strip()] = float(seconds) if sep else float("nan")
        except ValueError:
            greens[stage.strip()] = float("nan")
        if not sep or not greens[stage.strip()] > 0:
            raise OptionError(f"--green {item!r}: expected STAGE=SECONDS with seconds > 0")
    if duration is not None:
        check_sim_seconds(duration, "--duration")
    ensure_writable(out, "--out")
    done = export_junction(name, out, demand, seed=seed, duration=duration, greens=greens)
    files = (done.config, done.net, *done.routes, *done.additional, done.view)
    console.print(f"wrote {out}: " + ", ".join(p.name for p in files), soft_wrap=True)
    console.print(f"fixed-time programme under the UK rules, cycle {done.cycle_s:.1f} s")
    console.print(f"run: sumo -c {done.config}  or  sumo-gui -c {done.config}", soft_wrap=True)


app.add_typer(rewards_app, name="rewards", help="The reward registry.")
register_agents(app)
register_tuning(app)
register_experiments(app)
register_calibration(app)


#: Width of ``--help`` when it goes to a pipe or file (rich's default of 80 columns cuts the
#: longer option names, e.g. ``--checkpoint-ev…``); a terminal keeps its own width.
PIPED_HELP_WIDTH = 120


def _help_width() -> None:
    """Give typer's help console ``PIPED_HELP_WIDTH`` columns when stdout is not a terminal
    and the user set no width (typer's ``TERMINAL_WIDTH``, or ``COLUMNS``)."""
    import os

    import typer.rich_utils

    if sys.stdout.isatty() or os.environ.get("TERMINAL_WIDTH") or os.environ.get("COLUMNS"):
        return
    typer.rich_utils.MAX_WIDTH = PIPED_HELP_WIDTH


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script: run the ``intergreen`` app on ``argv``.

    Exits with the command's code: 0 done, 1 a command's own failure (e.g. failed runs),
    2 a user error (one line on stderr), 130 interrupted (Ctrl-C), 143 terminated (SIGTERM).
    """
    _help_width()
    code = app(args=argv, standalone_mode=False)
    if isinstance(code, int) and code:  # typer.Exit(n) returns n in this mode
        sys.exit(code)


if __name__ == "__main__":
    main()
