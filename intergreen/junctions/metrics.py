"""Ground-truth metrics of one run, from SUMO's own outputs (what the study measured).

:class:`EpisodeMetrics` is what a run reports: per vehicle, averaged over every vehicle
due to enter during the run (finished, still in the network, or never inserted, each
with its insertion wait), and per arm (the approach a vehicle came from). With
``emissions`` SUMO's emissions device adds CO2, NOx, PM and fuel from its HBEFA model
(each vehicle type's ``emissionClass``; SUMO's default for a passenger car is
``HBEFA4/PC_petrol_Euro-4``). :class:`EpisodeTrace` holds what a timeline plot needs.

``EpisodeMetrics.as_dict()`` is one flat record (``arm_wait_N``, ``co2_kg``, ...), the
form of every table and file; :data:`UNITS` gives each key's unit.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from intergreen.junctions.sumo_outputs import EdgeIntervals, Trips, route_edges

__all__ = [
    "ARM_FIELDS",
    "REWARD_UNIT",
    "UNITS",
    "ArmMetrics",
    "Emissions",
    "EpisodeMetrics",
    "EpisodeTrace",
    "arm_of_edges",
    "build_metrics",
    "build_trace",
    "unit_of",
    "vehicle_arms",
]

#: per-arm columns: ``arm_<key>_<arm>`` for each key (``arm_wait_N``: mean wait from arm N).
ARM_FIELDS = {
    "vehicles": ("vehicles", "veh"),
    "wait": ("avg_waiting_time", "s/veh"),
    "wait95": ("wait_p95", "s"),
    "queue": ("mean_queue", "veh"),
    "throughput": ("throughput", "veh"),
}

#: unit of every flat key (per-arm keys by their prefix: see :func:`unit_of`).
UNITS: dict[str, str] = {
    "simulated_s": "s",
    "vehicles": "veh",
    "avg_waiting_time": "s/veh",
    "avg_delay": "s/veh",
    "wait_p95": "s",
    "wait_max": "s",
    "throughput": "veh",
    "throughput_vph": "veh/h",
    "mean_queue": "veh",
    "max_queue": "veh",
    "stops_per_vehicle": "stops/veh",
    "teleports": "veh",
    "backlog": "veh",
    "pedestrians": "ped",
    "ped_avg_waiting_time": "s/ped",
    "vehicle_km": "veh-km",
    "co2_kg": "kg",
    "nox_g": "g",
    "pmx_g": "g",
    "fuel_l": "l",
    "co2_g_per_vkm": "g/veh-km",
    "nox_mg_per_vkm": "mg/veh-km",
    "pmx_mg_per_vkm": "mg/veh-km",
    "fuel_l_per_100vkm": "l/100 veh-km",
    # an episode's record (rollout.EpisodeResult.row) beside the metrics
    "seed": "id",
    "decisions": "decisions",
    "wall_s": "s (wall clock)",
}
#: unit of an episode's ``reward_<name>``: the sum of its reward (in whatever the reward
#: measures) over the controller's decisions
REWARD_UNIT = "sum over the episode"


def unit_of(key: str) -> str:
    """The unit of a flat metric key ('' if unknown), per-arm and ``reward_<name>`` keys
    included."""
    if key in UNITS:
        return UNITS[key]
    if key.startswith("reward_"):
        return REWARD_UNIT
    for short, (_, unit) in ARM_FIELDS.items():
        if key.startswith(f"arm_{short}_"):
            return unit
    return ""


@dataclass(frozen=True)
class ArmMetrics:
    """One approach: vehicles due from it, their mean and 95th-percentile wait (s, insertion
    wait included), vehicles that crossed the junction, and the mean queue on the approach
    (vehicles stopped, time average; None where the run kept no trace). An arm from which no
    vehicle came in the run has NaN waits (a mean over no vehicle), and an arm without
    approach lanes also a NaN queue: nothing was measured there."""

    vehicles: int
    avg_waiting_time: float
    wait_p95: float
    throughput: int
    mean_queue: float | None = None


@dataclass(frozen=True)
class Emissions:
    """Totals over every vehicle, from SUMO's emissions device (HBEFA classes per vehicle
    type), and the distance they drove."""

    vehicle_km: float
    co2_kg: float
    nox_g: float
    pmx_g: float
    fuel_l: float

    def as_dict(self) -> dict[str, float]:
        km = self.vehicle_km
        per = (lambda x: x / km) if km > 0 else (lambda x: math.nan)
        return {
            "vehicle_km": self.vehicle_km,
            "co2_kg": self.co2_kg,
            "nox_g": self.nox_g,
            "pmx_g": self.pmx_g,
            "fuel_l": self.fuel_l,
            "co2_g_per_vkm": per(self.co2_kg * 1000),
            "nox_mg_per_vkm": per(self.nox_g * 1000),
            "pmx_mg_per_vkm": per(self.pmx_g * 1000),
            "fuel_l_per_100vkm": per(self.fuel_l * 100),
        }

    @classmethod
    def from_trips(cls, trips: Trips) -> Emissions | None:
        if not trips.emissions:
            return None
        e = trips.emissions
        return cls(
            vehicle_km=float(trips.route_m.sum()) / 1000,
            co2_kg=float(e["CO2_abs"].sum()) / 1e6,  # mg
            nox_g=float(e["NOx_abs"].sum()) / 1e3,
            pmx_g=float(e["PMx_abs"].sum()) / 1e3,
            fuel_l=float(e["fuel_abs"].sum()) / 1e3,  # ml (volumetric fuel)
        )


_SCALARS = (
    "simulated_s", "vehicles", "avg_waiting_time", "avg_delay", "throughput", "throughput_vph",
    "mean_queue", "max_queue", "stops_per_vehicle", "teleports", "backlog", "pedestrians",
    "ped_avg_waiting_time", "wait_p95", "wait_max",
)  # fmt: skip


@dataclass(frozen=True)
class EpisodeMetrics:
    """Ground-truth traffic metrics of one run (per vehicle unless stated; units: UNITS)."""

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
    wait_p95: float = 0.0  # s: 95th percentile of the vehicles' waits (as avg_waiting_time)
    wait_max: float = 0.0  # s: the longest wait of any vehicle
    arms: Mapping[str, ArmMetrics] = field(default_factory=dict)  # per approach, spec order
    emissions: Emissions | None = None  # with the emissions device only

    def as_dict(self) -> dict[str, float | int]:
        """One flat record: the scalars, ``arm_<key>_<arm>`` per arm (:data:`ARM_FIELDS`),
        and the emission totals and per-vehicle-km rates when recorded."""
        out: dict[str, float | int] = {k: getattr(self, k) for k in _SCALARS}
        for short, (attr, _) in ARM_FIELDS.items():
            for arm, m in self.arms.items():
                value = getattr(m, attr)
                if value is not None:
                    out[f"arm_{short}_{arm}"] = value
        if self.emissions is not None:
            out.update(self.emissions.as_dict())
        return out

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> EpisodeMetrics:
        """The inverse of :meth:`as_dict` (extra keys, e.g. a results row's, are ignored)."""
        known = {f.name for f in fields(cls)} & set(_SCALARS)
        arms: dict[str, dict[str, Any]] = {}
        for key, value in record.items():
            for short, (attr, _) in ARM_FIELDS.items():
                prefix = f"arm_{short}_"
                if key.startswith(prefix):
                    arms.setdefault(key[len(prefix) :], {})[attr] = value
        emissions = None
        if "vehicle_km" in record:
            emissions = Emissions(**{f.name: float(record[f.name]) for f in fields(Emissions)})
        return cls(
            **{k: record[k] for k in known if k in record},
            arms={a: ArmMetrics(**v) for a, v in arms.items()},
            emissions=emissions,
        )


@dataclass(frozen=True)
class EpisodeTrace:
    """What happened over time, for a timeline plot (``intergreen.junctions.timeline``).

    ``switches``: (time s, SUMO signal state string) at every signal change; ``queue_t``:
    interval ends (s) with ``queue[arm]`` the mean vehicles stopped on the arm's approach
    over each interval; ``vehicle_due`` (s, when each vehicle wanted to enter),
    ``vehicle_arm`` and ``vehicle_wait`` (s, insertion wait included) per vehicle.
    """

    duration: float
    switches: list[tuple[float, str]]
    queue_t: np.ndarray
    queue: dict[str, np.ndarray]
    vehicle_due: np.ndarray
    vehicle_arm: list[str]
    vehicle_wait: np.ndarray


def arm_of_edges(lane_ids: Sequence[str], sumo_lanes: Sequence[str]) -> dict[str, str]:
    """SUMO edge id -> arm, for the approach edges: ``lane_ids`` are the spec's ``ARM_i``
    ids and ``sumo_lanes`` the SUMO lanes in the same order (``Network.approach_lanes``)."""
    return {
        sumo.rsplit("_", 1)[0]: spec.rsplit("_", 1)[0]
        for spec, sumo in zip(lane_ids, sumo_lanes, strict=True)
    }


def vehicle_arms(
    trips: Trips,
    arms_by_edge: Mapping[str, str],
    route_files: Sequence[str],
    expand: Callable[[tuple[str, ...]], tuple[str, ...]] | None = None,
) -> list[str]:
    """The arm each vehicle came from ('' if none of its route's edges is an approach):
    its insertion lane's edge, or for a vehicle inserted elsewhere or never inserted, the
    first approach edge of its route in ``route_files`` (flow ``F``'s vehicles are
    ``F.<n>``). A trip gives only its ``from``/``via``/``to`` edges, which miss the approach
    when it starts upstream of it (RESCO's route files): ``expand`` turns such edges into the
    route driven (:func:`intergreen.junctions.sumo_net.fastest_route` over the network)."""

    def first_arm(edges: Sequence[str]) -> str:
        return next((arms_by_edge[e] for e in edges if e in arms_by_edge), "")

    out = [arms_by_edge.get(lane.rsplit("_", 1)[0], "") if lane else "" for lane in trips.lane]
    missing = [i for i, a in enumerate(out) if not a]
    if missing and route_files:
        routes = route_edges(route_files)
        for i in missing:
            vid = trips.ids[i]
            edges = routes.get(vid) or routes.get(vid.rsplit(".", 1)[0], ())
            out[i] = first_arm(edges)
            if not out[i] and expand is not None and edges:
                out[i] = first_arm(expand(tuple(edges)))
    return out


def _p95(x: np.ndarray) -> float:
    return float(np.percentile(x, 95)) if x.size else 0.0


def build_metrics(
    *,
    arms: Sequence[str],
    trips: Trips,
    vehicle_arm: Sequence[str],
    simulated_s: float,
    exit_arms: Sequence[str],
    mean_queue: float,
    max_queue: int,
    teleports: int,
    edges: EdgeIntervals | None = None,
    arm_edges: Mapping[str, Sequence[str]] | None = None,
    exit_only: Collection[str] = (),
) -> EpisodeMetrics:
    """EpisodeMetrics of a run that ended at ``simulated_s``.

    ``exit_arms``: the origin arm of each vehicle on an exit edge at the end (crossed but
    not yet arrived); ``edges`` with ``arm_edges`` (arm -> its approach edges): the run's
    edgeData, for the per-arm mean queues. ``exit_only``: arms without approach lanes (an
    imported network's exit arms): no vehicle comes from them, so their mean and p95 wait and
    their queue are NaN (tables show "–"), not a measured 0; an arm with approach lanes from
    which no vehicle came in this run has NaN waits too (its queue is measured: 0).
    """
    n = max(len(trips), 1)
    on_exit = len(exit_arms)
    throughput = int(trips.arrived.sum()) + on_exit
    origin = np.array(vehicle_arm, dtype=object)
    per_arm: dict[str, ArmMetrics] = {}
    span = float(edges.end[-1] - edges.begin[0]) if edges is not None and edges.end.size else 0.0
    for arm in arms:
        mine = origin == arm
        waits = trips.waiting[mine]
        queue = None
        if edges is not None and arm_edges is not None and span > 0:
            queue = sum(float(edges.waiting[e].sum()) for e in arm_edges[arm]) / span
        none = arm in exit_only
        per_arm[arm] = ArmMetrics(
            vehicles=int(mine.sum()),
            avg_waiting_time=float(waits.mean()) if waits.size and not none else math.nan,
            wait_p95=_p95(waits) if waits.size and not none else math.nan,
            throughput=int((trips.arrived & mine).sum()) + sum(a == arm for a in exit_arms),
            mean_queue=math.nan if none and queue is not None else queue,
        )
    return EpisodeMetrics(
        simulated_s=round(simulated_s, 6),
        vehicles=len(trips),
        avg_waiting_time=float(trips.waiting.sum()) / n,
        avg_delay=float(trips.delay.sum()) / n,
        throughput=throughput,
        throughput_vph=throughput * 3600 / simulated_s if simulated_s > 0 else math.nan,
        mean_queue=mean_queue,
        max_queue=max_queue,
        stops_per_vehicle=float(trips.stops.sum()) / n,
        teleports=teleports,
        backlog=int((~trips.inserted).sum()),
        pedestrians=trips.persons,
        ped_avg_waiting_time=trips.ped_waiting / max(trips.persons, 1),
        wait_p95=_p95(trips.waiting),
        wait_max=float(trips.waiting.max()) if len(trips) else 0.0,
        arms=per_arm,
        emissions=Emissions.from_trips(trips),
    )


def build_trace(
    *,
    arms: Sequence[str],
    trips: Trips,
    vehicle_arm: Sequence[str],
    simulated_s: float,
    switches: list[tuple[float, str]],
    edges: EdgeIntervals,
    arm_edges: Mapping[str, Sequence[str]],
    begin: float = 0.0,
) -> EpisodeTrace:
    """The run's :class:`EpisodeTrace` (queues from the edgeData intervals), its times
    counted from the run's start (SUMO time ``begin``)."""
    length = np.maximum(edges.end - edges.begin, 1e-9)
    queue = {
        arm: sum((edges.waiting[e] for e in arm_edges[arm]), np.zeros(len(length))) / length
        for arm in arms
    }
    return EpisodeTrace(
        duration=simulated_s,
        switches=[(t - begin, state) for t, state in switches],
        queue_t=edges.end - begin,
        queue=queue,
        vehicle_due=trips.due - begin,
        vehicle_arm=list(vehicle_arm),
        vehicle_wait=trips.waiting.copy(),
    )
