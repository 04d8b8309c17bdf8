"""Read the files SUMO writes during a run: trip info, edge data, signal switches, statistics.

One job: turn SUMO's XML outputs into plain arrays; what they mean for an episode is
:mod:`intergreen.junctions.metrics`'s job. Formats (SUMO 1.20+):

- tripinfo (``--tripinfo-output`` with ``write-unfinished`` and ``write-undeparted``): one
  ``<tripinfo>`` per vehicle, finished or not; a vehicle never inserted has ``depart="-1"``
  and ``departDelay`` = its wait so far; with the emissions device a child ``<emissions>``
  gives the vehicle's totals (``CO2_abs``, ``NOx_abs``, ``PMx_abs`` in mg; ``fuel_abs`` in
  ml with ``--emissions.volumetric-fuel``). ``<personinfo>`` per pedestrian.
  https://sumo.dlr.de/docs/Simulation/Output/TripInfo.html
- edgeData (``<edgeData>`` in an additional file): per interval and edge, ``waitingTime``
  (vehicle-seconds at speed < 0.1 m/s) and ``left`` (vehicles that left the edge).
  https://sumo.dlr.de/docs/Simulation/Output/Lane-_or_Edge-based_Traffic_Measures.html
- TLS switch states (``<timedEvent type="SaveTLSSwitchStates">``): the signal state string
  each time it changes. https://sumo.dlr.de/docs/Simulation/Output/Traffic_Lights.html
"""

from __future__ import annotations

import functools
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from intergreen.junctions.sumo_net import open_sumo_xml

__all__ = [
    "EMISSION_ATTRIBUTES",
    "EdgeIntervals",
    "Trips",
    "read_edge_intervals",
    "read_signal_switches",
    "read_teleports",
    "read_trips",
    "route_edges",
]

#: tripinfo ``<emissions>`` attributes read, and the units SUMO gives them in.
EMISSION_ATTRIBUTES = {"CO2_abs": "mg", "NOx_abs": "mg", "PMx_abs": "mg", "fuel_abs": "ml"}


@dataclass(frozen=True)
class Trips:
    """Per-vehicle arrays from a tripinfo file (one entry per vehicle, file order).

    ``lane``: the lane the vehicle was inserted on ('' if never inserted); ``due``: when it
    wanted to enter (s; depart time minus its insertion wait); ``waiting``: s stopped,
    insertion wait included; ``delay``: s lost, insertion wait included; ``arrived``: it
    reached its destination; ``inserted``: it entered the network; ``route_m``: m driven;
    ``emissions``: per :data:`EMISSION_ATTRIBUTES` key, the vehicle's totals (mg or ml), or
    empty without the emissions device.
    """

    ids: list[str]
    lane: list[str]
    due: np.ndarray
    waiting: np.ndarray
    delay: np.ndarray
    stops: np.ndarray
    arrived: np.ndarray
    inserted: np.ndarray
    route_m: np.ndarray
    emissions: dict[str, np.ndarray] = field(default_factory=dict)
    persons: int = 0
    ped_waiting: float = 0.0  # s, summed over the persons who walked

    def __len__(self) -> int:
        return len(self.ids)


def read_trips(path: Path, end: float) -> Trips:
    """The vehicles (and pedestrians) of a tripinfo file written at simulated time ``end``
    (s). Raises OSError or ET.ParseError."""
    ids: list[str] = []
    lanes: list[str] = []
    cols: dict[str, list[float]] = {k: [] for k in ("due", "waiting", "delay", "stops",
                                                    "arrived", "inserted", "route_m")}  # fmt: skip
    emissions: dict[str, list[float]] = {k: [] for k in EMISSION_ATTRIBUTES}
    has_emissions = False
    persons, ped_waiting = 0, 0.0
    for _, el in ET.iterparse(path):
        if el.tag == "personinfo":
            if float(el.get("depart", -1)) >= 0:  # undeparted persons are listed too
                persons += 1
                ped_waiting += float(el.get("waitingTime", 0))
            el.clear()
            continue
        if el.tag != "tripinfo":
            continue
        depart = float(el.get("depart", 0))
        depart_delay = float(el.get("departDelay", 0))
        inserted = depart >= 0
        ids.append(el.get("id", ""))
        lanes.append(el.get("departLane", "") if inserted else "")
        cols["due"].append((depart if inserted else end) - depart_delay)
        cols["waiting"].append(float(el.get("waitingTime", 0)) + depart_delay)
        cols["delay"].append(float(el.get("timeLoss", 0)) + depart_delay)
        cols["stops"].append(float(el.get("waitingCount", 0)))
        cols["arrived"].append(inserted and float(el.get("arrival", -1)) >= 0)
        cols["inserted"].append(inserted)
        cols["route_m"].append(float(el.get("routeLength", 0)) if inserted else 0.0)
        em = el.find("emissions")
        if em is not None:
            has_emissions = True
        for key, values in emissions.items():
            values.append(float(em.get(key, 0)) if em is not None else 0.0)
        el.clear()
    return Trips(
        ids=ids,
        lane=lanes,
        due=np.array(cols["due"], dtype=float),
        waiting=np.array(cols["waiting"], dtype=float),
        delay=np.array(cols["delay"], dtype=float),
        stops=np.array(cols["stops"], dtype=float),
        arrived=np.array(cols["arrived"], dtype=bool),
        inserted=np.array(cols["inserted"], dtype=bool),
        route_m=np.array(cols["route_m"], dtype=float),
        emissions={k: np.array(v, dtype=float) for k, v in emissions.items()}
        if has_emissions
        else {},
        persons=persons,
        ped_waiting=ped_waiting,
    )


def read_teleports(path: Path) -> int:
    """Vehicles SUMO teleported, from its statistics output; 0 if unreadable."""
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError):
        return 0
    node = root.find("teleports")
    return int(node.get("total", 0)) if node is not None else 0


@dataclass(frozen=True)
class EdgeIntervals:
    """edgeData per interval: ``begin``/``end`` (s), and per edge ``waiting`` (halting
    vehicle-seconds) and ``left`` (vehicles that left the edge), arrays over intervals."""

    begin: np.ndarray
    end: np.ndarray
    waiting: dict[str, np.ndarray]
    left: dict[str, np.ndarray]


def read_edge_intervals(path: Path, edges: Iterable[str]) -> EdgeIntervals:
    """The edgeData intervals of ``edges`` (edges absent from an interval count 0)."""
    edges = list(edges)
    begin: list[float] = []
    end: list[float] = []
    waiting: dict[str, list[float]] = {e: [] for e in edges}
    left: dict[str, list[float]] = {e: [] for e in edges}
    for _, el in ET.iterparse(path):
        if el.tag != "interval":
            continue
        begin.append(float(el.get("begin", 0)))
        end.append(float(el.get("end", 0)))
        seen = {e.get("id"): e for e in el.iter("edge")}
        for e in edges:
            node = seen.get(e)
            waiting[e].append(float(node.get("waitingTime", 0)) if node is not None else 0.0)
            left[e].append(float(node.get("left", 0)) if node is not None else 0.0)
        el.clear()
    return EdgeIntervals(
        begin=np.array(begin),
        end=np.array(end),
        waiting={e: np.array(v) for e, v in waiting.items()},
        left={e: np.array(v) for e, v in left.items()},
    )


def read_signal_switches(path: Path, tls_id: str | None = None) -> list[tuple[float, str]]:
    """(time s, state string) at every switch of the traffic light (of ``tls_id`` if given)."""
    out: list[tuple[float, str]] = []
    for _, el in ET.iterparse(path):
        if el.tag == "tlsState" and (tls_id is None or el.get("id") == tls_id):
            out.append((float(el.get("time", 0)), el.get("state", "")))
        el.clear()
    return out


@functools.lru_cache(maxsize=8)
def _route_file_edges(path: str, mtime_ns: int) -> dict[str, tuple[str, ...]]:
    with open_sumo_xml(Path(path)) as f:
        return _route_edges_of(f)


def _route_edges_of(f) -> dict[str, tuple[str, ...]]:
    routes: dict[str, tuple[str, ...]] = {}
    out: dict[str, tuple[str, ...]] = {}
    for _, el in ET.iterparse(f, events=("end",)):
        tag = el.tag
        if tag == "route":
            edges = tuple(el.get("edges", "").split())
            if el.get("id"):
                routes[el.get("id", "")] = edges
        elif tag in ("vehicle", "flow", "trip"):
            inner = el.find("route")
            if inner is not None:
                edges = tuple(inner.get("edges", "").split())
            elif el.get("route") in routes:
                edges = routes[el.get("route", "")]
            else:
                edges = tuple(
                    x for x in (el.get("from"), *el.get("via", "").split(), el.get("to")) if x
                )
            out[el.get("id", "")] = edges
            el.clear()
    return out


def route_edges(route_files: Iterable[str | Path]) -> dict[str, tuple[str, ...]]:
    """Vehicle or flow id -> the edges of its route (``from``/``via``/``to`` for trips and
    flows without a route), over SUMO route files. A vehicle of flow ``F`` is ``F.<n>``."""
    merged: dict[str, tuple[str, ...]] = {}
    for f in route_files:
        p = Path(f)
        merged.update(_route_file_edges(str(p), p.stat().st_mtime_ns))
    return merged
