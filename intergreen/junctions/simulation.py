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
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import math
import shutil
import tempfile
import weakref
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import traci.constants as tc

from intergreen.errors import IntergreenError
from intergreen.junctions.demand import DemandProfile, resolve_demand, write_routes
from intergreen.junctions.network import Network, build_network
from intergreen.junctions.spec import JunctionSpec
from intergreen.junctions.sumo import SumoNotFound, libsumo_getter, sumo_binary, sumo_home

Backend = Literal["libsumo", "traci"]
_OPEN: weakref.WeakSet[Simulation] = weakref.WeakSet()
_labels = itertools.count()


class SimulationError(IntergreenError, RuntimeError):
    """SUMO could not be started or failed during a run."""


@dataclass(frozen=True)
class EpisodeMetrics:
    """Ground-truth traffic metrics of one run (per vehicle unless stated)."""

    simulated_s: float
    vehicles: int  # vehicles due to enter during the run (inserted or still queued)
    avg_waiting_time: float  # s stopped (speed <= 0.1 m/s) per vehicle, insertion wait included
    avg_delay: float  # s lost against the desired speed per vehicle, insertion wait included
    throughput: int  # vehicles that crossed the junction
    throughput_vph: float
    mean_queue: float  # vehicles stopped on the approaches, time average
    max_queue: int
    stops_per_vehicle: float
    teleports: int
    backlog: int  # vehicles still waiting to be inserted at the end
    pedestrians: int = 0  # pedestrians who walked during the run
    ped_avg_waiting_time: float = 0.0  # s standing per pedestrian (at crossings)

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def _parse_tripinfo(path: Path) -> dict[str, float]:
    """Sum per-vehicle waiting, delay, stops and insertion waits from SUMO's tripinfo."""
    waiting = delay = stops = ped_waiting = 0.0
    vehicles = undeparted = arrived = persons = 0
    for _, el in ET.iterparse(path):
        if el.tag == "personinfo":
            if float(el.get("depart", -1)) >= 0:  # undeparted persons are listed too
                persons += 1
                ped_waiting += float(el.get("waitingTime", 0))
            el.clear()
            continue
        if el.tag != "tripinfo":
            continue
        vehicles += 1
        depart_delay = float(el.get("departDelay", 0))
        if float(el.get("depart", 0)) < 0:  # never inserted: departDelay is the wait so far
            undeparted += 1
        elif float(el.get("arrival", -1)) >= 0:
            arrived += 1
        waiting += float(el.get("waitingTime", 0)) + depart_delay
        delay += float(el.get("timeLoss", 0)) + depart_delay
        stops += float(el.get("waitingCount", 0))
        el.clear()
    return {
        "vehicles": vehicles,
        "waiting": waiting,
        "delay": delay,
        "stops": stops,
        "undeparted": undeparted,
        "arrived": arrived,
        "persons": persons,
        "ped_waiting": ped_waiting,
    }


def _parse_teleports(path: Path) -> int:
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError):
        return 0
    node = root.find("teleports")
    return int(node.get("total", 0)) if node is not None else 0


class Simulation:
    """A SUMO run of a junction under a demand profile, seeded.

    ``start()`` begins at time 0, ``step()`` advances one step, ``finish()`` ends
    the run and returns its :class:`EpisodeMetrics`; ``close()`` ends it without.
    """

    def __init__(
        self,
        spec: JunctionSpec,
        demand: str | float | DemandProfile = "medium",
        *,
        seed: int = 0,
        backend: Backend = "libsumo",
        gui: bool = False,
        duration: float | None = None,
        network: Network | None = None,
        extra_options: tuple[str, ...] = (),
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
            raise ValueError(f"duration must be > 0 s, got {self.duration}")
        self.network = network or build_network(spec, pedestrians=self.demand.has_pedestrians)
        # a network's own route files run as they are; profiles become a route file
        self.routes = ",".join(self.demand.route_files) or str(write_routes(spec, self.demand))
        self.extra_options = extra_options
        self.step_length = spec.timing.step_length
        self.conn = None
        self.steps = 0
        self._label: str | None = None
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
        return _with_options(cmd, self.spec.sumo_options()) + list(self.extra_options)

    def start(self, seed: int | None = None) -> None:
        """Start (or restart) the run from time 0."""
        if seed is not None:
            self.seed = int(seed)
        self.close()
        sumo_home()
        self._outdir = Path(tempfile.mkdtemp(prefix="intergreen-run-"))
        cmd = self.command(self._outdir)
        try:
            if self.backend == "libsumo":
                self.conn = self._start_libsumo(cmd)
            else:
                self.conn = self._start_traci(cmd)
        except BaseException:
            shutil.rmtree(self._outdir, ignore_errors=True)
            self._outdir = None
            raise
        _OPEN.add(self)
        self.steps = 0
        self._queue_sum = self._max_queue = 0
        if self.backend == "libsumo":
            self._edge_halting = libsumo_getter(self.conn, "edge", "getLastStepHaltingNumber")
        else:
            for e in self.network.approach_edges + self.network.exit_edges:
                self.conn.edge.subscribe(
                    e, (tc.LAST_STEP_VEHICLE_NUMBER, tc.LAST_STEP_VEHICLE_HALTING_NUMBER)
                )

    def _start_libsumo(self, cmd: list[str]):
        import libsumo

        if any(s.conn is libsumo for s in _OPEN if s is not self):
            raise SimulationError(
                "another libsumo simulation is open in this process (libsumo allows one); "
                "close it first, or use backend='traci'"
            )
        try:
            libsumo.start(cmd)
        except Exception as e:  # libsumo raises its own TraCIException
            raise SimulationError(f"SUMO failed to start: {e}") from None
        return libsumo

    def _start_traci(self, cmd: list[str]):
        import traci

        self._label = f"intergreen-{id(self)}-{next(_labels)}"
        try:
            traci.start(cmd, label=self._label)
        except (traci.exceptions.FatalTraCIError, traci.exceptions.TraCIException, OSError) as e:
            raise SimulationError(f"SUMO failed to start: {e}") from None
        return traci.getConnection(self._label)

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
        """End the run and return its ground-truth metrics."""
        if self.conn is None or self._outdir is None:
            raise SimulationError("simulation is not running: nothing to finish")
        on_exit = sum(self._edge_counts(self.network.exit_edges)[0])
        outdir = self._outdir
        self._stop_sumo()
        try:
            trips = _parse_tripinfo(outdir / "tripinfo.xml")
            teleports = _parse_teleports(outdir / "statistics.xml")
        except (OSError, ET.ParseError) as e:
            raise SimulationError(f"could not read SUMO's trip output: {e}") from None
        finally:
            self.close()
        n = max(trips["vehicles"], 1)
        throughput = trips["arrived"] + on_exit
        return EpisodeMetrics(
            simulated_s=round(self.time, 6),
            vehicles=int(trips["vehicles"]),
            avg_waiting_time=trips["waiting"] / n,
            avg_delay=trips["delay"] / n,
            throughput=int(throughput),
            throughput_vph=throughput * 3600 / self.time if self.time > 0 else math.nan,
            mean_queue=self._queue_sum / self.steps if self.steps else 0.0,
            max_queue=self._max_queue,
            stops_per_vehicle=trips["stops"] / n,
            teleports=teleports,
            backlog=int(trips["undeparted"]),
            pedestrians=int(trips["persons"]),
            ped_avg_waiting_time=trips["ped_waiting"] / max(trips["persons"], 1),
        )

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
            halting = self._edge_halting
            return sum(halting(x) for x in edges)
        res = self.conn.edge.getAllSubscriptionResults()
        return sum(res[x][tc.LAST_STEP_VEHICLE_HALTING_NUMBER] for x in edges)

    def _edge_counts(self, edges: tuple[str, ...]) -> tuple[list[int], list[int]]:
        """Vehicle and halting counts of edges (direct reads under libsumo)."""
        if self.backend == "libsumo":
            e = self.conn.edge
            return (
                [e.getLastStepVehicleNumber(x) for x in edges],
                [e.getLastStepHaltingNumber(x) for x in edges],
            )
        res = self.conn.edge.getAllSubscriptionResults()
        return (
            [res[x][tc.LAST_STEP_VEHICLE_NUMBER] for x in edges],
            [res[x][tc.LAST_STEP_VEHICLE_HALTING_NUMBER] for x in edges],
        )


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

__all__ = ["EpisodeMetrics", "Simulation", "SimulationError", "SumoNotFound"]
