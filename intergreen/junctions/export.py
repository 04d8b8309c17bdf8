"""Export a junction as plain SUMO files that ``sumo`` and ``sumo-gui`` open without us.

``intergreen junctions export NAME --out DIR`` writes, all paths in them relative to DIR:

- ``NAME.net.xml``: the network intergreen simulates (built from the spec, left-hand);
- ``NAME.rou.xml``: the routes of a demand (default: the junction's, ``medium`` on gm_a56), as
  intergreen writes them;
- ``NAME.sensors.add.xml``: the camera zones and stop-line loops (shown in sumo-gui);
- ``NAME.tls.add.xml``: a fixed-time programme that obeys the junction's UK rules (amber,
  red+amber, intergreens, minimum greens, permitted stage sequence), made by intergreen's
  :class:`~intergreen.junctions.controller.StageController` cycling through the action
  stages with the given greens and checked by :mod:`intergreen.junctions.checker`. It
  replaces netconvert's default programme (which has no red+amber or intergreens). The
  controllers of ``intergreen simulate`` (vehicle actuation, agents) run only there;
- ``NAME.view.xml``: sumo-gui's view, zoomed on the junction;
- ``NAME.sumocfg``: the options intergreen runs SUMO with (step length, seed, teleport
  time, ...), saved by SUMO itself (``--save-configuration``), plus the view for sumo-gui.

Then ``sumo -c DIR/NAME.sumocfg`` or ``sumo-gui -c DIR/NAME.sumocfg``.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

from intergreen.junctions.catalog import resolve_junction
from intergreen.junctions.checker import assert_valid
from intergreen.junctions.controller import StageController
from intergreen.junctions.gui import GuiOptions, junction_view, settings_xml
from intergreen.junctions.simulation import Simulation, SimulationError
from intergreen.junctions.spec import JunctionSpec, Link, SpecError
from intergreen.junctions.sumo import sumo_binary
from intergreen.junctions.sumo_net import gzipped

__all__ = ["DEFAULT_GREEN", "ExportedJunction", "export_junction", "fixed_programme"]

#: green (s) of each action stage in the exported programme unless given
DEFAULT_GREEN = 30.0
#: the longest green (s) a programme may give a stage
MAX_GREEN = 3600.0


@dataclass(frozen=True)
class ExportedJunction:
    """The files written (paths) and the programme's cycle time (s)."""

    config: Path
    net: Path
    routes: list[Path]
    additional: list[Path]
    view: Path
    cycle_s: float


def fixed_programme(
    spec: JunctionSpec, links: tuple[Link, ...], greens: Mapping[str, float]
) -> list[tuple[str, int]]:
    """One cycle of a fixed-time plan as (SUMO state, steps) phases: the action stages in
    turn, each green for ``greens[stage]`` s (at least its minimum green), the controller
    making every change (so stages on the way, e.g. gm_a56's arrow stage 1, run their
    minimum green). The cycle starts as the first action stage turns green.

    Raises:
        SpecError: a stage in ``greens`` that is not an action stage, or a green outside
            (0, MAX_GREEN].
    """
    order = list(spec.action_stages)
    for s, g in greens.items():
        if s not in order:
            raise SpecError(f"green for stage {s!r}: the action stages are {', '.join(order)}")
        if not 0 < g <= MAX_GREEN:
            raise SpecError(f"green for stage {s!r}: {g} s; give 0 < seconds <= {MAX_GREEN:g}")
    ctl = StageController(spec, links)
    ctl.reset(order[0])
    states: list[str] = []
    starts: list[int] = [0]
    target, was_first = 0, True
    total = sum(greens.get(s, DEFAULT_GREEN) for s in order) + 600.0 * len(spec.stages)
    limit = 3 * round(total / spec.timing.step_length)  # two cycles fit well within it
    while len(starts) < 3 and len(states) < limit:
        stage = order[target]
        green = greens.get(stage, DEFAULT_GREEN)
        if ctl.current_stage == stage and not ctl.in_interstage and ctl.time_in_stage >= green:
            target = (target + 1) % len(order)
            ctl.request(order[target])
        state = ctl.step()
        first = ctl.current_stage == order[0] and not ctl.in_interstage
        if first and not was_first:
            starts.append(len(states))
        was_first = first
        states.append(state)
    if len(starts) < 3:
        raise SpecError(f"{spec.name}: the fixed-time plan did not complete two cycles")
    assert_valid(spec, links, states[: starts[2]])  # two cycles and the change between
    cycle = states[starts[1] : starts[2]]
    phases: list[tuple[str, int]] = []
    for state in cycle:
        if phases and phases[-1][0] == state:
            phases[-1] = (state, phases[-1][1] + 1)
        else:
            phases.append((state, 1))
    return phases


def _programme_xml(tls_id: str, phases: list[tuple[str, int]], step_length: float) -> str:
    lines = [
        "<additional>",
        "  <!-- a fixed-time plan under the junction's UK rules, made by intergreen's "
        "StageController -->",
        f'  <tlLogic id={quoteattr(tls_id)} type="static" programID="intergreen_fixed" offset="0">',
    ]
    for state, steps in phases:
        lines.append(f'    <phase duration="{steps * step_length:.6g}" state="{state}"/>')
    lines += ["  </tlLogic>", "</additional>"]
    return "\n".join(lines) + "\n"


def export_junction(
    junction: str | Path | JunctionSpec,
    out: Path,
    demand: str | None = None,
    *,
    seed: int = 1,
    duration: float | None = None,
    greens: Mapping[str, float] | None = None,
) -> ExportedJunction:
    """Write the junction's SUMO files into ``out`` (created) and return their paths.

    Raises:
        SpecError, ValueError: an unknown junction, demand or stage; SimulationError: SUMO
        could not save the configuration.
    """
    spec = resolve_junction(junction)
    sim = Simulation(spec, demand, seed=seed, duration=duration)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    name = spec.name
    net_source = Path(sim.network.net_file)
    sources = [Path(r) for r in str(sim.routes).split(",")]
    # a compressed source keeps its .gz (SUMO reads it by content; the name says so)
    gz = {p: ".gz" if gzipped(p) else "" for p in (net_source, *sources)}
    net = out / f"{name}.net.xml{gz[net_source]}"
    shutil.copyfile(net_source, net)
    numbered = len(sources) > 1
    routes = [out / f"{name}{f'.{i}' if numbered else ''}.rou.xml{gz[src]}"
              for i, src in enumerate(sources)]  # fmt: skip
    for src, dst in zip(sources, routes, strict=True):
        shutil.copyfile(src, dst)
    sensors = out / f"{name}.sensors.add.xml"
    shutil.copyfile(sim.network.sensors_file, sensors)
    tls_id = getattr(sim.network, "tls_id", "TL")
    given = {str(k): float(v) for k, v in (greens or {}).items()}
    phases = fixed_programme(spec, sim.network.links, given)
    tls = out / f"{name}.tls.add.xml"
    tls.write_text(_programme_xml(tls_id, phases, spec.timing.step_length))
    view = out / f"{name}.view.xml"
    reach = spec.sensors.camera_range + GuiOptions().margin_m
    view.write_text(
        settings_xml(
            junction_view(net, sim.network.approach_lanes, reach),
            GuiOptions(),
            sim.duration,
            spec.timing.step_length,
        )
    )
    config = out / f"{name}.sumocfg"
    options = _run_options(sim.command())
    cmd = [
        sumo_binary("sumo"),
        "-n", net.name,
        "-r", ",".join(r.name for r in routes),
        "-a", f"{sensors.name},{tls.name}",
        # SUMO's --end is a time, not a length: the window's begin (a RESCO scenario's 25200,
        # an import's --begin) plus the episode
        "--end", f"{sim.demand.sumo_begin + sim.duration:g}",
        *options,
        "--save-configuration", config.name,
        "--save-configuration.relative", "true",
    ]  # fmt: skip
    done = subprocess.run(cmd, cwd=out, capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise SimulationError(f"sumo could not save {config}: {last}")
    text = config.read_text()
    gui = f'    <gui_only>\n        <gui-settings-file value="{view.name}"/>\n    </gui_only>\n'
    config.write_text(text.replace("</sumoConfiguration>", gui + "</sumoConfiguration>"))
    cycle = sum(steps for _, steps in phases) * spec.timing.step_length
    return ExportedJunction(config, net, routes, [sensors, tls], view, cycle)


def _run_options(cmd: list[str]) -> list[str]:
    """intergreen's SUMO options without the binary and the file arguments."""
    files = {"-n", "-r", "-a"}
    out: list[str] = []
    skip = True  # the binary
    for item in cmd:
        if skip:
            skip = False
            continue
        if item in files:
            skip = True
            continue
        out.append(item)
    return out
