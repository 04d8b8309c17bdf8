"""One SUMO run: start, seed, step, ground-truth metrics, close.

libsumo (in-process, fast) is the default backend; traci (a SUMO subprocess) is
used for the GUI or on request. libsumo allows one simulation per process, so
a second concurrent libsumo run is refused with a clear error. Every run is
closed when it ends, when an exception or KeyboardInterrupt unwinds through
the ``with`` block, and at interpreter exit, so no SUMO process outlives it.

Ground-truth metrics (what the study measured) come from SUMO itself: its
tripinfo output, written for finished, unfinished and never-inserted vehicles,
gives each vehicle's stopped time, time loss, stops and insertion wait; the
approach queues are sampled every step (cheap direct reads under libsumo).
``trace=True`` adds edgeData on the approaches (per-arm queues) and the signal
switches (a timeline, ``last_trace``); ``emissions=True`` adds SUMO's emissions
device (HBEFA, per vehicle type). Both cost SUMO time, so training runs without.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import math
import os
import shutil
import sys
import tempfile
import weakref
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import traci.constants as tc

from intergreen.errors import IntergreenError, OptionError
from intergreen.junctions.demand import DemandProfile, resolve_demand, write_routes
from intergreen.junctions.gui import GuiOptions, check_display
from intergreen.junctions.metrics import (
    EpisodeMetrics,
    EpisodeTrace,
    arm_of_edges,
    build_metrics,
    build_trace,
    vehicle_arms,
)
from intergreen.junctions.network import Network, build_network
from intergreen.junctions.spec import JunctionSpec
from intergreen.junctions.sumo import SumoNotFound, libsumo_getter, sumo_binary, sumo_home
from intergreen.junctions.sumo_net import fastest_route
from intergreen.junctions.sumo_outputs import (
    read_edge_intervals,
    read_signal_switches,
    read_teleports,
    read_trips,
)

Backend = Literal["libsumo", "traci"]
_OPEN: weakref.WeakSet[Simulation] = weakref.WeakSet()


class SimulationError(IntergreenError, RuntimeError):
    """SUMO could not be started or failed during a run."""


class Simulation:
    """A SUMO run of a junction under a demand profile, seeded.

    ``start()`` begins at time 0, ``step()`` advances one step, ``finish()`` ends
    the run and returns its :class:`EpisodeMetrics`; ``close()`` ends it without.
    """

    def __init__(
        self,
        spec: JunctionSpec,
        demand: str | float | DemandProfile | None = None,
        *,
        seed: int = 0,
        backend: Backend = "libsumo",
        gui: bool = False,
        duration: float | None = None,
        network: Network | None = None,
        extra_options: tuple[str, ...] = (),
        trace: bool = False,
        emissions: bool = False,
        gui_options: GuiOptions | None = None,
    ) -> None:
        if gui:
            backend = "traci"
        if backend not in ("libsumo", "traci"):
            raise ValueError(f"backend must be 'libsumo' or 'traci', got {backend!r}")
        self.spec = spec
        self.demand = resolve_demand(spec, demand)
        self.seed = int(seed)
        self.backend: Backend = backend
        self.gui = gui
        self.duration = float(duration if duration is not None else self.demand.duration)
        if self.duration <= 0:
            raise OptionError(f"duration must be > 0 s, got {self.duration:g}")
        self.network = network or build_network(spec, pedestrians=self.demand.has_pedestrians)
        # a network's own route files run as they are; profiles become a route file
        self.routes = ",".join(self.demand.route_files) or str(write_routes(spec, self.demand))
        self.extra_options = extra_options
        self.trace = trace
        self.emissions = emissions
        self.gui_options = gui_options or GuiOptions()
        self.last_trace: EpisodeTrace | None = None  # of the last finished run, with trace
        arms_by_edge = arm_of_edges(spec.approach_lane_ids, self.network.approach_lanes)
        self._arm_edges = {a: [e for e, x in arms_by_edge.items() if x == a] for a in spec.arms}
        self._arms_by_edge = arms_by_edge
        self._route_files: list[str] = []
        self.step_length = spec.timing.step_length
        self.conn = None
        self.steps = 0
        self._outdir: Path | None = None
        self._queue_sum = 0
        self._max_queue = 0

    @property
    def time(self) -> float:
        """Simulated seconds since the start."""
        return self.steps * self.step_length

    # ----- lifecycle ------------------------------------------------------------------
    def command(self, outdir: Path | None = None) -> list[str]:
        """The SUMO command line; with ``outdir``, tripinfo and statistics go there."""
        binary = sumo_binary("sumo-gui" if self.gui else "sumo")
        cmd = [
            binary,
            "-n", str(self.network.net_file),
            "-r", self.routes,
            "-a", str(self.network.sensors_file),
            "--step-length", f"{self.step_length}",
            "--seed", str(self.seed),
            "--begin", f"{self.demand.sumo_begin:g}",
            "--no-step-log", "true",
            "--no-warnings", "true",
            "--duration-log.disable", "true",
            "--time-to-teleport", "300",
            "--max-depart-delay", "-1",
        ]  # fmt: skip
        if outdir is not None:
            cmd += [
                "--tripinfo-output", str(outdir / "tripinfo.xml"),
                "--tripinfo-output.write-unfinished", "true",
                "--tripinfo-output.write-undeparted", "true",
                "--statistic-output", str(outdir / "statistics.xml"),
            ]  # fmt: skip
            if self.trace:
                add = outdir / "trace.add.xml"
                add.write_text(self._trace_xml(outdir))
                i = cmd.index("-a") + 1
                cmd[i] = f"{cmd[i]},{add}"
            if self.gui:
                cmd += ["--gui-settings-file", str(self._gui_settings(outdir))]
        if self.emissions:
            cmd += ["--device.emissions.probability", "1", "--emissions.volumetric-fuel", "true"]
        if self.gui:
            width, height = self.gui_options.window
            cmd += ["--start", "--quit-on-end", "--window-size", f"{width},{height}",
                    "--delay", f"{self.gui_options.delay_ms:g}"]  # fmt: skip
        return _with_options(cmd, self.spec.sumo_options()) + list(self.extra_options)

    def _trace_xml(self, outdir: Path) -> str:
        """edgeData on the approach edges every ~5 s (whole steps) and the signal switches."""
        from xml.sax.saxutils import quoteattr

        period = math.ceil(5.0 / self.step_length - 1e-9) * self.step_length
        edges = " ".join(self._arms_by_edge)
        tls = self.network.tls_id
        return (
            f'<additional>\n  <edgeData id="trace" file={quoteattr(str(outdir / "edges.xml"))} '
            f'period="{period:g}" edges={quoteattr(edges)} excludeEmpty="false"/>\n'
            f'  <timedEvent type="SaveTLSSwitchStates" source={quoteattr(tls)} '
            f"dest={quoteattr(str(outdir / 'signals.xml'))}/>\n</additional>\n"
        )

    def _gui_settings(self, outdir: Path) -> Path:
        """sumo-gui's settings file: zoomed on the junction, delay, screenshots."""
        from intergreen.junctions.gui import junction_view, settings_xml

        reach = self.spec.sensors.camera_range + self.gui_options.margin_m
        view = junction_view(self.network.net_file, self.network.approach_lanes, reach)
        path = outdir / "gui-settings.xml"
        path.write_text(settings_xml(view, self.gui_options, self.duration, self.step_length))
        if self.gui_options.screenshots is not None:
            Path(self.gui_options.screenshots).mkdir(parents=True, exist_ok=True)
        return path

    def start(self, seed: int | None = None) -> None:
        """Start (or restart) the run from time 0."""
        if seed is not None:
            self.seed = int(seed)
        self.close()
        sumo_home()
        if self.gui:
            check_display()  # NoDisplayError: one line naming xvfb-run, before any process
        self._outdir = Path(tempfile.mkdtemp(prefix="intergreen-run-"))
        try:
            cmd = self.command(self._outdir)
        except BaseException:
            shutil.rmtree(self._outdir, ignore_errors=True)
            self._outdir = None
            raise
        self._route_files = cmd[cmd.index("-r") + 1].split(",") if "-r" in cmd else []
        try:
            if self.backend == "libsumo":
                self.conn = self._start_libsumo(cmd)
            else:
                self.conn = self._start_traci(cmd)
        except SimulationError as e:
            shutil.rmtree(self._outdir, ignore_errors=True)
            self._outdir = None
            raise SimulationError(self._route_file_problem() or str(e)) from None
        except BaseException:
            shutil.rmtree(self._outdir, ignore_errors=True)
            self._outdir = None
            raise
        _OPEN.add(self)
        self.steps = 0
        self._queue_sum = self._max_queue = 0
        if self.backend == "libsumo":
            self._edge_halting = libsumo_getter(self.conn, "edge", "getLastStepHaltingNumber")

    def _route_file_problem(self) -> str | None:
        """Why SUMO refuses the demand's own route files (a junction imported from a SUMO
        network), naming the file and SUMO's reason; None when it loads them, or the demand
        has none (SUMO failed to start for another reason)."""
        if not self.demand.route_files:
            return None
        from intergreen.junctions.route_files import sumo_load_problem

        return sumo_load_problem(
            self.demand.route_files, self.network.net_file, self.demand.sumo_begin
        )

    def _start_libsumo(self, cmd: list[str]):
        import libsumo

        if any(s.conn is libsumo for s in _OPEN if s is not self):
            raise SimulationError(
                "another libsumo simulation is open in this process (libsumo allows one); "
                "close it first, or use backend='traci'"
            )
        log = (self._outdir or Path(tempfile.gettempdir())) / "libsumo.log"
        try:
            with _stderr_to(log):  # SUMO's "Error: ..." lines: in the message, not printed
                libsumo.start(cmd)
        except Exception as e:  # libsumo raises its own TraCIException
            errors = [x.removeprefix("Error: ").strip() for x in _lines(log)
                      if x.startswith("Error: ")]  # fmt: skip
            raise SimulationError(f"SUMO failed to start: {errors[0] if errors else e}") from None
        text = "\n".join(_lines(log))
        if text:  # what it says when it starts, as it would have said it
            print(text, file=sys.stderr)
        return libsumo

    def _start_traci(self, cmd: list[str]):
        """SUMO (or sumo-gui) as a subprocess, its output in the run folder's ``sumo.log``,
        subscribed to the approach and exit edges; a process that exits or never answers
        (SUMO loads the route files after it answers) is a SimulationError quoting its
        error."""
        import io
        import subprocess

        import sumolib
        import traci

        port = sumolib.miscutils.getFreeSocketPort()
        log_path = (self._outdir or Path(tempfile.gettempdir())) / "sumo.log"
        with open(log_path, "w") as log:
            proc = subprocess.Popen(
                [*cmd, "--remote-port", str(port)], stdout=log, stderr=subprocess.STDOUT
            )
        retries = 300 if self.gui else 150  # 0.2 s apart: sumo-gui may take a while to open
        conn = None
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # traci prints its retries
                conn = traci.connect(port, retries, "localhost", proc, 0.2)
            for e in self.network.approach_edges + self.network.exit_edges:
                conn.edge.subscribe(
                    e, (tc.LAST_STEP_VEHICLE_NUMBER, tc.LAST_STEP_VEHICLE_HALTING_NUMBER)
                )
            return conn
        except (traci.exceptions.FatalTraCIError, traci.exceptions.TraCIException, OSError):
            with contextlib.suppress(Exception):  # already gone: nothing left to release
                if conn is not None:
                    conn.close()
            with contextlib.suppress(OSError):
                proc.kill()
            proc.wait()
            lines = _lines(log_path)
            errors = [x for x in lines if x.startswith("Error: ")]  # SUMO's reason comes first
            errors = errors or [x for x in lines if "error" in x.lower()] or lines[-1:]
            why = errors[0].strip() if errors else f"exit code {proc.returncode}"
            name = Path(cmd[0]).name
            raise SimulationError(f"{name} failed to start: {why}") from None

    def close(self) -> None:
        """End the run without metrics; safe to call twice."""
        self._stop_sumo()
        if self._outdir is not None:
            shutil.rmtree(self._outdir, ignore_errors=True)
            self._outdir = None

    def _stop_sumo(self) -> None:
        conn, self.conn = self.conn, None
        _OPEN.discard(self)
        if conn is not None:
            with contextlib.suppress(Exception):  # already gone: nothing left to release
                conn.close()

    def finish(self) -> EpisodeMetrics:
        """End the run and return its ground-truth metrics (with ``trace``, also keep its
        :class:`EpisodeTrace` in ``last_trace``)."""
        if self.conn is None or self._outdir is None:
            raise SimulationError("simulation is not running: nothing to finish")
        edge = self.conn.edge
        on_exit = [v for e in self.network.exit_edges for v in edge.getLastStepVehicleIDs(e)]
        end = float(self.conn.simulation.getTime())
        outdir = self._outdir
        self._stop_sumo()
        try:
            trips = read_trips(outdir / "tripinfo.xml", end)
            teleports = read_teleports(outdir / "statistics.xml")
            edges = switches = None
            if self.trace:
                edges = read_edge_intervals(outdir / "edges.xml", self._arms_by_edge)
                switches = read_signal_switches(outdir / "signals.xml")
        except (OSError, ET.ParseError) as e:
            raise SimulationError(f"could not read SUMO's trip output: {e}") from None
        finally:
            self.close()
        arms = list(self.spec.arms)
        expand = functools.partial(fastest_route, self.network.net_file)
        origin = vehicle_arms(trips, self._arms_by_edge, self._route_files, expand)
        arm_of = dict(zip(trips.ids, origin, strict=True))
        metrics = build_metrics(
            arms=arms,
            trips=trips,
            vehicle_arm=origin,
            simulated_s=self.time,
            exit_arms=[arm_of.get(v, "") for v in on_exit],
            mean_queue=self._queue_sum / self.steps if self.steps else 0.0,
            max_queue=self._max_queue,
            teleports=teleports,
            edges=edges,
            arm_edges=self._arm_edges,
            exit_only=[a for a, arm in self.spec.arms.items() if not arm.approach_lanes],
        )
        if edges is not None and switches is not None:
            self.last_trace = build_trace(
                arms=arms,
                trips=trips,
                vehicle_arm=origin,
                simulated_s=self.time,
                switches=switches,
                edges=edges,
                arm_edges=self._arm_edges,
                begin=end - self.time,
            )
        return metrics

    @property
    def running(self) -> bool:
        return self.conn is not None

    def __enter__(self) -> Simulation:
        if not self.running:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    # ----- stepping --------------------------------------------------------------------
    def set_signal_state(self, state: str) -> None:
        self.conn.trafficlight.setRedYellowGreenState(self.network.tls_id, state)

    def step(self) -> None:
        """Advance one step and sample the approach queues."""
        conn = self.conn
        if conn is None:
            raise SimulationError("simulation is not running: call start() first")
        try:
            conn.simulationStep()
        except Exception as e:
            self.close()
            raise SimulationError(f"SUMO stopped during the run at t={self.time:.1f}s: {e}") from e
        self.steps += 1
        queue = self._halting(self.network.approach_edges)
        self._queue_sum += queue
        if queue > self._max_queue:
            self._max_queue = queue

    def _halting(self, edges: tuple[str, ...]) -> int:
        """Vehicles stopped on the edges now."""
        if self.backend == "libsumo":
            return sum(map(self._edge_halting, edges))
        res = self.conn.edge.getAllSubscriptionResults()
        return sum(res[x][tc.LAST_STEP_VEHICLE_HALTING_NUMBER] for x in edges)


def simulation_factory(**options: Any) -> Callable[..., Simulation]:
    """A ``JunctionEnv(simulation_factory=...)`` whose simulations take ``options`` (e.g.
    ``trace=True, emissions=True`` for a timeline and emissions; ``gui_options``)."""
    return functools.partial(Simulation, **options)


@contextlib.contextmanager
def _stderr_to(path: Path) -> Iterator[None]:
    """This process's file descriptor 2 (where libsumo's C++ code writes its errors, past
    ``sys.stderr``) written to ``path`` while the block runs."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(path, "wb") as f:
            os.dup2(f.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _lines(path: Path) -> list[str]:
    """The non-empty lines of a SUMO log (none when it was not written)."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return []
    return [x for x in text.splitlines() if x.strip()]


def _with_options(cmd: list[str], options: dict[str, str]) -> list[str]:
    """``cmd`` with each ``--option value`` of ``options`` replacing the command's own
    (SUMO refuses an option given twice)."""
    out = list(cmd)
    for key, value in options.items():
        flag = "--" + key.lstrip("-")
        if flag in out:
            out[out.index(flag) + 1] = str(value)
        else:
            out += [flag, str(value)]
    return out


def _close_all() -> None:
    for sim in list(_OPEN):
        sim.close()


atexit.register(_close_all)

__all__ = [
    "EpisodeMetrics",
    "EpisodeTrace",
    "Simulation",
    "SimulationError",
    "SumoNotFound",
    "simulation_factory",
]
